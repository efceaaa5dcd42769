// Messages between the main thread and a sampler worker (worker.ts), and the helpers both sides use.
import { PngTooLargeError, PpgnInputError } from '@ppgn/core';
import type { ChainHost } from './host';

/** The ChainHost methods a worker answers (everything a caller may ask of the sampler). */
export type HostMethod = {
  [K in keyof ChainHost]: ChainHost[K] extends (...args: never[]) => unknown ? K : never;
}[keyof ChainHost];

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
