// The sampler side of the rooms: every room's chain (h, RNG, condition, config), stepping, rendering and
// PNG encoding. One ChainHost runs in each sampler worker thread (worker.ts), or on the main thread when
// sampler workers are off (PPGN_SAMPLER_WORKERS=0). The same code runs either way, so a seeded room gives
// the same frames in both. Calls must not overlap: the caller serialises them.
import {
  Condition,
  PpgnInputError,
  classifyImages,
  createChain,
  decodePng,
  encodeImages,
  encodePng,
  packImageLimits,
  resizeImage,
  renderChains,
  renderCodes,
  stepBatch,
  updateChain,
  type ChainResult,
  type ChainState,
  type Pack,
  type RngState,
  type SeenLabel,
  type Term,
} from '@ppgn/core';
import { applyRecords, type RoomCondition } from '@ppgn/shared';
import { encodeGif } from '../gif';
import { roomCondition, samplerConfig, termOf } from '../recipe';
import type { ChainChange, ChainPosition, ChainSpec, OpenChain, SamplerCalls, StepOutcome } from './protocol';

export type { ChainChange, ChainPosition, ChainSpec, OpenChain, StepOutcome } from './protocol';

interface HostedRoom {
  packId: string;
  chain: ChainState;
  /** G(h) of the last step (the "use current frame" context) */
  lastImage: Float32Array | null;
  /** the steering this chain samples (changes apply to it record by record) */
  spec: ChainSpec;
  /** sampler terms by condition id, with the record they were made from (a picture is decoded once) */
  terms: Map<string, { record: RoomCondition; term: Term }>;
}

const position = (c: ChainState): ChainPosition => ({
  step: c.step,
  h: Float32Array.from(c.h),
  rng: [...c.rng] as RngState,
});

export class ChainHost implements SamplerCalls {
  private readonly rooms = new Map<string, HostedRoom>();
  private readonly previews = new Map<string, { packId: string; chains: ChainState[] }>();

  constructor(
    private readonly packs: Map<string, Pack>,
    private readonly log: (line: string) => void = () => {},
  ) {}

  private pack(id: string): Pack {
    const p = this.packs.get(id);
    if (!p) throw new Error(`pack "${id}" is not loaded in the sampler`);
    return p;
  }

  private room(id: string): HostedRoom {
    const r = this.rooms.get(id);
    if (!r) throw new Error(`room ${id} has no chain in this sampler`);
    return r;
  }

  private condition(pack: Pack, spec: ChainSpec, terms?: HostedRoom['terms']) {
    const termFor = (c: RoomCondition) => {
      const kept = terms?.get(c.id);
      if (kept && kept.record === c) return kept.term;
      const term = termOf(c, pack);
      terms?.set(c.id, { record: c, term });
      return term;
    };
    if (terms)
      for (const id of [...terms.keys()]) if (!spec.state.conditions.some((c) => c.id === id)) terms.delete(id);
    return roomCondition(spec.state, pack, spec.contextImage ? { image: spec.contextImage } : null, false, termFor);
  }

  async open(o: OpenChain): Promise<ChainPosition> {
    const pack = this.pack(o.packId);
    const terms: HostedRoom['terms'] = new Map();
    const chain = await createChain(pack, {
      id: o.roomId,
      seed: o.seed,
      condition: this.condition(pack, o.spec, terms),
      config: samplerConfig(o.spec.state.params, pack, o.spec.state.overrides),
      ...(o.h0 && o.h0.length === pack.codeDim ? { h0: o.h0 } : {}),
    });
    chain.step = o.step;
    if (o.rng) chain.rng = [...o.rng] as RngState;
    this.rooms.set(o.roomId, { packId: o.packId, chain, lastImage: null, spec: o.spec, terms });
    return position(chain);
  }

  drop(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** A steering change, record by record (validated first; on error the chain and its steering are unchanged). */
  async update(roomId: string, change: ChainChange): Promise<void> {
    const r = this.room(roomId);
    const pack = this.pack(r.packId);
    const s = r.spec.state;
    const spec: ChainSpec = {
      state: {
        conditions: change.conditions ? applyRecords(s.conditions, change.conditions) : s.conditions,
        strokes: change.strokes ? applyRecords(s.strokes, change.strokes) : s.strokes,
        params: change.params ?? s.params,
        overrides: change.overrides ?? s.overrides,
        context: change.context ? change.context.ref : s.context,
      },
      contextImage: change.context ? change.context.image : r.spec.contextImage,
    };
    await updateChain(pack, r.chain, {
      condition: this.condition(pack, spec, r.terms),
      config: samplerConfig(spec.state.params, pack, spec.state.overrides),
    });
    r.spec = spec;
  }

  /** A fresh chain from the room's seed (step 0). */
  async reset(roomId: string, spec: ChainSpec): Promise<ChainPosition> {
    const r = this.room(roomId);
    const pack = this.pack(r.packId);
    r.chain = await createChain(pack, {
      id: r.chain.id,
      seed: spec.state.params.seed,
      condition: this.condition(pack, spec, r.terms),
      config: samplerConfig(spec.state.params, pack, spec.state.overrides),
    });
    r.spec = spec;
    return position(r.chain);
  }

  /** Replace the code (start from an uploaded image); not validated here. */
  setCode(roomId: string, h: Float32Array): void {
    this.room(roomId).chain.h = Float32Array.from(h);
  }

  /** The pixels of the room's current frame (G(h) if it has not stepped yet) and their PNG. */
  async frameImage(roomId: string): Promise<{ image: Float32Array; png: Uint8Array }> {
    const r = this.room(roomId);
    const pack = this.pack(r.packId);
    const image = r.lastImage ?? (await renderCodes(pack, [r.chain.h]))[0]!;
    return { image: Float32Array.from(image), png: this.png(pack, image) };
  }

  /**
   * One step of every listed room: rooms on one pack advance in one batched call; each frame is rendered
   * and PNG-encoded here. A room whose chain throws gets `ok: false` (the caller quarantines it); the
   * others advance.
   */
  async step(roomIds: string[]): Promise<StepOutcome[]> {
    const out: StepOutcome[] = [];
    const byPack = new Map<string, [string, HostedRoom][]>();
    for (const id of roomIds) {
      const r = this.rooms.get(id);
      if (!r) {
        out.push({ roomId: id, ok: false, error: `room ${id} has no chain in this sampler` });
        continue;
      }
      byPack.set(r.packId, [...(byPack.get(r.packId) ?? []), [id, r]]);
    }
    for (const [packId, rooms] of byPack) {
      const pack = this.pack(packId);
      const { stepped, results, failed } = await this.stepIsolated(pack, rooms);
      results.forEach((res, i) => {
        const [roomId, room] = stepped[i]!;
        room.lastImage = res.image ?? null;
        const png = room.lastImage ? this.png(pack, room.lastImage) : new Uint8Array(0);
        out.push({
          roomId,
          ok: true,
          ...position(room.chain),
          png,
          scores: res.scores,
          conditionScores: res.termScores,
          hNorm: res.hNorm,
          ...(res.acceptRate !== undefined ? { acceptRate: res.acceptRate } : {}),
        });
      });
      for (const [roomId, err] of failed)
        out.push({ roomId, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
    return out;
  }

  /**
   * One batched step of `rooms`. If the batch throws, each room is stepped alone so that only the rooms
   * whose chain throws fail; the rest advance.
   */
  private async stepIsolated(pack: Pack, rooms: [string, HostedRoom][]) {
    const failed: [string, unknown][] = [];
    const saved = rooms.map(([, r]) => ({
      h: Float32Array.from(r.chain.h),
      step: r.chain.step,
      rng: structuredClone(r.chain.rng),
    }));
    try {
      return {
        stepped: rooms,
        results: await stepBatch(
          pack,
          rooms.map(([, r]) => r.chain),
          { render: true },
        ),
        failed,
      };
    } catch (err) {
      if (rooms.length === 1)
        return { stepped: [], results: [] as ChainResult[], failed: [[rooms[0]![0], err] as [string, unknown]] };
      this.log(`batched step of ${rooms.length} rooms failed (${(err as Error).message}); stepping them one by one`);
    }
    const stepped: [string, HostedRoom][] = [];
    const results: ChainResult[] = [];
    for (const [i, entry] of rooms.entries()) {
      // a batch that failed half-way may have moved some chains: start again from before it
      Object.assign(entry[1].chain, saved[i]);
      try {
        results.push((await stepBatch(pack, [entry[1].chain], { render: true }))[0]!);
        stepped.push(entry);
      } catch (err) {
        failed.push([entry[0], err]);
      }
    }
    return { stepped, results, failed };
  }

  /** G(h) for codes, [H·W·C] in the pack's range. */
  render(packId: string, hs: Float32Array[]): Promise<Float32Array[]> {
    return renderCodes(this.pack(packId), hs);
  }

  async renderPng(packId: string, h: Float32Array): Promise<Uint8Array> {
    const pack = this.pack(packId);
    return this.png(pack, (await renderCodes(pack, [h]))[0]!);
  }

  /** What G(h) looks like to the pack's main class condition (the gallery's "looks like"); [] without one. */
  async seenAs(packId: string, h: Float32Array): Promise<SeenLabel[]> {
    const pack = this.pack(packId);
    if (!pack.manifest.conditions.some((c) => c.kind === 'classes')) return [];
    return (await classifyImages(pack, await renderCodes(pack, [h])))[0]!;
  }

  /** An animated GIF of G(h) for each code (history export): rendered and encoded here, off the main thread. */
  async exportGif(
    packId: string,
    hs: Float32Array[],
    opts: { scale?: number; delayMs?: number } = {},
  ): Promise<Uint8Array> {
    const pack = this.pack(packId);
    const [H, W, C] = pack.imageShape;
    let frames = await renderCodes(pack, hs);
    if (pack.manifest.image.range === '[-1,1]') frames = frames.map((f) => f.map((v) => (v + 1) / 2));
    return encodeGif(frames, H, W, C, opts);
  }

  /** h = E(x) for images in the pack's range. */
  encode(packId: string, images: Float32Array[]): Promise<Float32Array[]> {
    return encodeImages(this.pack(packId), images);
  }

  /**
   * h = E(x) of an uploaded PNG (a start image): decoded, resized and encoded here, off the engine's main
   * thread; the header is checked against `maxBytes`' pixel cap before anything is inflated. Clipped to the
   * pack's code range.
   */
  async encodeUpload(packId: string, png: Uint8Array, maxBytes: number): Promise<Float32Array> {
    const pack = this.pack(packId);
    const [H, W, C] = pack.imageShape;
    let img = decodePng(png, C as 1 | 3, pack.manifest.image.range, packImageLimits(pack.imageShape, maxBytes));
    if (img.shape[0] !== H || img.shape[1] !== W) img = resizeImage(img, H, W);
    const [h] = await encodeImages(pack, [img.data]);
    const { min, max } = pack.manifest.code;
    return h!.map((v) => Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v)));
  }

  /** Why a reference picture (base64 PNG) cannot be used with this pack, or null: decoded here, off the main thread. */
  checkPicture(packId: string, pngBase64: string): string | null {
    const pack = this.pack(packId);
    try {
      termOf(
        { id: 'check', target: { kind: 'image', png: pngBase64, name: '' }, weight: 1, enabled: true, author: '' },
        pack,
      );
      return null;
    } catch (err) {
      if (err instanceof PpgnInputError) return err.message;
      throw err;
    }
  }

  /**
   * Preview samples (class thumbnails, unit previews): one short seeded chain per term set. Stepped one
   * call at a time (previewStep) so that room steps interleave with them.
   */
  async previewOpen(key: string, packId: string, termSets: Term[][], steps: number): Promise<void> {
    const pack = this.pack(packId);
    const chains: ChainState[] = [];
    for (const [i, terms] of termSets.entries()) {
      chains.push(
        await createChain(pack, {
          id: `preview${i}`,
          seed: 1000 + i,
          condition: new Condition(terms),
          config: { steps },
        }),
      );
    }
    this.previews.set(key, { packId, chains });
  }

  async previewStep(key: string): Promise<void> {
    const p = this.previews.get(key);
    if (!p) throw new Error(`no preview "${key}"`);
    await stepBatch(this.pack(p.packId), p.chains);
  }

  async previewFinish(key: string): Promise<Uint8Array[]> {
    const p = this.previews.get(key);
    if (!p) throw new Error(`no preview "${key}"`);
    this.previews.delete(key);
    const pack = this.pack(p.packId);
    const images = await renderChains(pack, p.chains);
    return images.map((img) => this.png(pack, img));
  }

  private png(pack: Pack, img: Float32Array): Uint8Array {
    const [H, W, C] = pack.imageShape;
    return encodePng({ shape: [H, W, C], data: img }, pack.manifest.image.range);
  }
}
