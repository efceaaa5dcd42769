// Room state as it travels to clients: pictures by reference. An image condition's PNG (up to ~48 KB of
// base64) stays in the engine's state; snapshots and patches carry "sha256:<hex>" in its place and the picture
// is fetched once, by that reference, from GET /rooms/:id/pictures/:ref.png — so a busy room's patches (and
// the connection-state recovery buffer that keeps them for two minutes) stay small.
import { createHash } from 'node:crypto';
import type { RoomCondition, RoomPatch, RoomState } from '@ppgn/shared';

const REF = /^sha256:[0-9a-f]{64}$/;

/** the reference of a picture (its base64 text, hashed) */
export function pictureRef(pngBase64: string): string {
  return `sha256:${createHash('sha256').update(pngBase64).digest('hex')}`;
}

export function isPictureRef(s: string): boolean {
  return REF.test(s);
}

// records are replaced, never edited in place: one wire copy per record object
const wired = new WeakMap<RoomCondition, RoomCondition>();

function wireCondition(c: RoomCondition): RoomCondition {
  if (c.target.kind !== 'image' || isPictureRef(c.target.png)) return c;
  let w = wired.get(c);
  if (!w) {
    w = { ...c, target: { ...c.target, png: pictureRef(c.target.png) } };
    wired.set(c, w);
  }
  return w;
}

export function wireState(s: RoomState): RoomState;
export function wireState(s: RoomState | null): RoomState | null;
export function wireState(s: RoomState | null): RoomState | null {
  if (!s || !s.conditions.some((c) => c.target.kind === 'image')) return s;
  return { ...s, conditions: s.conditions.map(wireCondition) };
}

export function wirePatch(p: RoomPatch): RoomPatch {
  if (!p.conditions?.put?.some((c) => c.target.kind === 'image')) return p;
  return { ...p, conditions: { ...p.conditions, put: p.conditions.put.map(wireCondition) } };
}

/** the PNG bytes of a picture the room's state holds now, by its reference; null when it holds none such */
export function pictureOf(state: RoomState, ref: string): Buffer | null {
  for (const c of state.conditions)
    if (c.target.kind === 'image' && pictureRef(c.target.png) === ref) return Buffer.from(c.target.png, 'base64');
  return null;
}
