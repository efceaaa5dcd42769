// The sampler's contract: what the rooms ask of it (Sampler, and the chain records it takes and gives back), the
// messages between the main thread and a sampler worker (worker.ts), and the helpers both sides use. The rooms
// reach the sampler through these types only.
import { PngTooLargeError, PpgnInputError, type RngState, type SeenLabel, type Term } from '@ppgn/core';
import type { MaskStroke, RecordDiff, RoomCondition, RoomState, SamplerParams, Tunable } from '@ppgn/shared';

/** What a chain samples: the room's steering, plus the inpainting context frame (pixels in the pack's range). */
export interface ChainSpec {
  state: Pick<RoomState, 'conditions' | 'params' | 'strokes' | 'context' | 'overrides'>;
  contextImage: Float32Array | null;
}

/**
 * One steering change, record by record (what a room's patch changed): an edited condition sends that condition,
 * a stroke that stroke; pictures travel only with the condition that carries them and are decoded once here.
 */
export interface ChainChange {
  conditions?: RecordDiff<RoomCondition>;
  strokes?: RecordDiff<MaskStroke>;
  params?: SamplerParams;
  overrides?: Tunable[];
  /** the context changed: its reference and its pixels (null: none) */
  context?: { ref: RoomState['context']; image: Float32Array | null };
}

export interface OpenChain {
  roomId: string;
  packId: string;
  spec: ChainSpec;
  seed: number;
  step: number;
  /** start from this code (else drawn from the seed) */
  h0?: Float32Array | null;
  /** resume this exact RNG state (a worker restart); else the seed's */
  rng?: RngState | null;
}

/** Where a chain is after open / reset / a step (what the main thread mirrors for checkpoints and history). */
export interface ChainPosition {
  step: number;
  h: Float32Array;
  rng: RngState;
}

export type StepOutcome =
  | (ChainPosition & {
      roomId: string;
      ok: true;
      png: Uint8Array;
      scores: Record<string, number>;
      /** room condition id → its score names (the chain's terms carry the condition ids) */
      conditionScores: Record<string, string[]>;
      hNorm: number;
      /** exact modes: the share of proposals accepted so far */
      acceptRate?: number;
    })
  | { roomId: string; ok: false; error: string };

/**
 * A step that did not happen: the worker died while running it (`crashed`: maybe the chain's fault), or
 * the room's worker is being restarted (`retry`: try again on a later tick).
 */
export type StepResult =
  | StepOutcome
  | { roomId: string; ok: false; error: string; crashed: true }
  | { roomId: string; ok: false; error: string; retry: true };

export interface Sampler {
  /** worker threads (0 = sampling on the main thread) */
  readonly workers: number;
  open(o: OpenChain): Promise<ChainPosition>;
  /** a steering change, record by record */
  update(roomId: string, change: ChainChange): Promise<void>;
  reset(roomId: string, spec: ChainSpec): Promise<ChainPosition>;
  setCode(roomId: string, h: Float32Array): Promise<void>;
  /** forget a room's chain */
  drop(roomId: string): Promise<void>;
  frameImage(roomId: string): Promise<{ image: Float32Array; png: Uint8Array }>;
  /** one step of each room (rooms on different workers step in parallel) */
  step(roomIds: string[]): Promise<StepResult[]>;
  render(packId: string, hs: Float32Array[], roomId?: string): Promise<Float32Array[]>;
  renderPng(packId: string, h: Float32Array, roomId?: string): Promise<Uint8Array>;
  /** what G(h) looks like to the pack's main class condition: its three most probable labels */
  seenAs(packId: string, h: Float32Array): Promise<SeenLabel[]>;
  encode(packId: string, images: Float32Array[]): Promise<Float32Array[]>;
  /** decode + resize + encode an uploaded PNG off the main thread (see ChainHost.encodeUpload) */
  encodeUpload(packId: string, png: Uint8Array, maxBytes: number): Promise<Float32Array>;
  /** an animated GIF of the codes (rendered and encoded off the main thread) */
  exportGif(packId: string, hs: Float32Array[], opts: { scale?: number; delayMs?: number }): Promise<Uint8Array>;
  /** why a reference picture cannot be used, or null (decoded off the main thread) */
  checkPicture(packId: string, pngBase64: string): Promise<string | null>;
  previewOpen(key: string, packId: string, termSets: Term[][], steps: number): Promise<void>;
  previewStep(key: string): Promise<void>;
  previewFinish(key: string): Promise<Uint8Array[]>;
  /** calls sent and not answered yet */
  inFlight(): number;
  /** steering changes handed to the sampler, and their size (typed arrays by their bytes, the rest as JSON) */
  readonly traffic: { updates: number; updateBytes: number };
  /** which worker runs a room's chain (0 on the main thread; undefined: unknown room) */
  workerOf(roomId: string): number | undefined;
  close(): Promise<void>;
}

/** The calls a sampler worker answers: the Sampler's own, minus what the pool answers itself. */
export type HostMethod = Exclude<keyof Sampler, 'workers' | 'inFlight' | 'traffic' | 'workerOf' | 'close'>;

/** What a worker's host implements: each call of the Sampler, answered directly or as a promise. */
export type SamplerCalls = {
  [K in HostMethod]: (...args: Parameters<Sampler[K]>) => Awaited<ReturnType<Sampler[K]>> | ReturnType<Sampler[K]>;
};

export interface WorkerInit {
  /** the backend the engine chose (every worker uses the same one) */
  backend: string | undefined;
  packs: { id: string; dir: string }[];
  /** the module the boot file imports (this folder's worker.ts, or .js when compiled) */
  entry: string;
  index: number;
}

export interface Request {
  id: number;
  method: HostMethod;
  args: unknown[];
}

/** Sent by the pool before it ends a worker: answer `closed` once the request in flight is done. */
export interface CloseRequest {
  type: 'close';
}

export type ToWorker = Request | CloseRequest;

export interface SerialError {
  name: string;
  message: string;
  field?: string;
  stack?: string;
}

export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'fatal'; error: SerialError }
  | { type: 'log'; line: string }
  | { type: 'closed' }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: SerialError };

export function serialiseError(err: unknown): SerialError {
  if (err instanceof Error)
    return { name: err.name, message: err.message, field: (err as PpgnInputError).field, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** The same error class on this side of the thread boundary (the HTTP layer maps input errors to 4xx). */
export function reviveError(e: SerialError): Error {
  const err =
    e.name === 'PngTooLargeError'
      ? new PngTooLargeError(e.message)
      : e.name === 'PpgnInputError'
        ? new PpgnInputError(e.message, e.field)
        : new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Make every typed array in `value` (a result or argument: arrays and plain objects, a few levels deep)
 * own its whole ArrayBuffer, so the buffers can be transferred instead of copied. Views of a shared
 * buffer (Node's Buffer pool, subarrays) are copied first; each buffer is listed once.
 */
export function transferables(value: unknown): { value: unknown; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const own = (v: unknown, depth: number): unknown => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const t = v as Float32Array | Uint8Array;
      const whole = t.byteOffset === 0 && t.byteLength === t.buffer.byteLength && t.buffer instanceof ArrayBuffer;
      const mine =
        whole && !transfer.has(t.buffer as ArrayBuffer)
          ? t
          : t instanceof Float32Array
            ? Float32Array.from(t)
            : Uint8Array.from(t as Uint8Array);
      transfer.add(mine.buffer as ArrayBuffer);
      return mine;
    }
    if (depth >= 4 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => own(x, depth + 1));
    if (Object.getPrototypeOf(v) !== Object.prototype) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = own(x, depth + 1);
    return out;
  };
  const out = own(value, 0);
  return { value: out, transfer: [...transfer] };
}
