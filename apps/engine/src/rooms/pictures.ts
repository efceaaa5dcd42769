// Pictures that come into a room: reference images and start uploads are decoded and checked in a sampler
// worker, never on this thread (a PNG may declare up to 8× the pack's side); a checked picture is remembered by
// its hash, so the model's own checks (kind, layer, the rest of the state) run on placeholders.
import { createHash } from 'node:crypto';
import {
  Condition,
  PngTooLargeError,
  PpgnInputError,
  decodePng,
  packImageLimits,
  resolveCondition,
  type Pack,
  type SeenLabel,
} from '@ppgn/core';
import { LIMITS, type RoomCondition } from '@ppgn/shared';
import { RoomError } from './errors';
import { termOf } from '../recipe';
import { pictureRef } from './wire';
import type { Sampler } from '../sampling/protocol';

const REMEMBERED = 1000;

export class Pictures {
  private readonly checked = new Set<string>();

  constructor(private readonly sampler: Sampler) {}

  /** Every image among `targets` decodes and fits the pack (checked in a worker, once per picture). */
  async check(packId: string, targets: RoomCondition['target'][]): Promise<void> {
    for (const t of targets) {
      if (t.kind !== 'image') continue;
      const ref = pictureRef(t.png);
      if (this.checked.has(ref)) continue;
      const problem = await this.sampler.checkPicture(packId, t.png);
      if (problem) throw new RoomError(problem);
      if (this.checked.size >= REMEMBERED) this.checked.delete(this.checked.values().next().value!);
      this.checked.add(ref);
    }
  }

  /** Why the pack cannot use this target (its kind, layer, words…), or null. */
  validateTarget(pack: Pack, target: RoomCondition['target']): string | null {
    try {
      const placeholder = target.kind === 'image' && this.checked.has(pictureRef(target.png));
      const c = new Condition([termOf({ id: 'x', target, weight: 1, enabled: true, author: '' }, pack, placeholder)]);
      resolveCondition(pack, c, () => new Float32Array(0));
      return null;
    } catch (err) {
      if (err instanceof PpgnInputError) return err.message;
      throw err;
    }
  }

  /** G(h) of a pack as PNG, outside any room (gallery mixes). */
  async render(packId: string, h: Float32Array): Promise<Buffer> {
    return asBuffer(await this.sampler.renderPng(packId, h));
  }

  /**
   * What G(h) looks like to the pack's class condition (its three most probable labels), for the gallery;
   * null when it cannot be said (a missing class condition, a sampler error): a save never fails for it.
   */
  async seenAs(packId: string, h: Float32Array): Promise<SeenLabel[] | null> {
    try {
      const seen = await this.sampler.seenAs(packId, h);
      return seen.length ? seen.map((s) => ({ label: s.label, p: Math.round(s.p * 1000) / 1000 })) : null;
    } catch {
      return null;
    }
  }

  /** h = E(x) of an uploaded start image: decoded, resized and encoded in a sampler worker. */
  async encodeUpload(packId: string, png: Uint8Array): Promise<Float32Array> {
    if (png.byteLength > LIMITS.uploadBytes)
      throw new PngTooLargeError(`images are at most ${LIMITS.uploadBytes / 1e6} MB`);
    return this.sampler.encodeUpload(packId, png, LIMITS.uploadBytes);
  }
}

/** a context picture's pixels, or null when it is not the pack's size */
export function decodeContext(pack: Pack, png: Uint8Array): Float32Array | null {
  const [H, W, C] = pack.imageShape;
  const img = decodePng(png, C as 1 | 3, pack.manifest.image.range, packImageLimits(pack.imageShape));
  return img.shape[0] === H && img.shape[1] === W ? img.data : null;
}

export const blobHash = (png: Uint8Array) => createHash('sha256').update(png).digest('hex').slice(0, 32);
export const norm = (h: Float32Array) => Math.sqrt(h.reduce((a, v) => a + v * v, 0));
/** PNG bytes from the sampler as a Buffer (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
