// Where rooms are sampled: a pool of worker threads (each with its own net runtime and packs), or the
// main thread (workers = 0). Rooms are placed on the least-loaded worker when their chain is opened and
// stay there (their chain state lives in that worker); rooms sharing a pack on one worker step in one
// batched call. A worker that dies is started again and its rooms are re-opened from the position the
// main thread last received (`restore`).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Pack, SeenLabel, Term } from '@ppgn/core';
import { ChainHost } from './host';
import {
  reviveError,
  type ChainChange,
  type ChainPosition,
  type ChainSpec,
  type OpenChain,
  type Sampler,
  type StepOutcome,
  type StepResult,
  type FromWorker,
  type HostMethod,
  type Request,
  type ToWorker,
  type WorkerInit,
} from './protocol';

/** how long close() waits for a worker to finish the request in flight before ending it */
const CLOSE_WAIT_MS = 10_000;

/**
 * `PPGN_SAMPLER_WORKERS` unset: one worker per core (at most 8). The main thread (sockets, HTTP, the
 * room model) needs little CPU beside them: on 2 cores, 2 workers gave 1.52 against 1.15 frames per
 * client and second at 10 rooms × 20 clients, with the same steering latency (docs/benchmarks.md).
 */
export function defaultWorkerCount(cores = os.availableParallelism()): number {
  return Math.min(8, Math.max(1, cores));
}

export class SamplerClosedError extends Error {
  constructor(message = 'the sampler is shut down') {
    super(message);
    this.name = 'SamplerClosedError';
  }
}

export class SamplerCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplerCrashError';
  }
}

// ------------------------------------------------------------------------------------------ in-process

/** Sampling on the main thread (PPGN_SAMPLER_WORKERS=0): one ChainHost, calls run one at a time. */
export class InProcessSampler implements Sampler {
  readonly workers = 0;
  readonly traffic = { updates: 0, updateBytes: 0 };
  private readonly host: ChainHost;
  private lock: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private closed = false;

  constructor(packs: Map<string, Pack>, log: (line: string) => void = () => {}) {
    this.host = new ChainHost(packs, log);
  }

  private run<T>(fn: (h: ChainHost) => Promise<T> | T): Promise<T> {
    if (this.closed) return Promise.reject(new SamplerClosedError());
    this.pending++;
    const go = () => fn(this.host);
    const next = this.lock.then(go, go).finally(() => this.pending--);
    this.lock = next.catch(() => {});
    return next;
  }

  open = (o: OpenChain) => this.run((h) => h.open(o));
  update = (roomId: string, change: ChainChange) => {
    count(this.traffic, change);
    return this.run((h) => h.update(roomId, change));
  };
  reset = (roomId: string, spec: ChainSpec) => this.run((h) => h.reset(roomId, spec));
  setCode = (roomId: string, code: Float32Array) => this.run((h) => h.setCode(roomId, code));
  drop = (roomId: string) => this.run((h) => h.drop(roomId));
  frameImage = (roomId: string) => this.run((h) => h.frameImage(roomId));
  step = (roomIds: string[]): Promise<StepResult[]> => this.run((h) => h.step(roomIds));
  render = (packId: string, hs: Float32Array[]) => this.run((h) => h.render(packId, hs));
  renderPng = (packId: string, code: Float32Array) => this.run((h) => h.renderPng(packId, code));
  seenAs = (packId: string, code: Float32Array) => this.run((h) => h.seenAs(packId, code));
  encode = (packId: string, images: Float32Array[]) => this.run((h) => h.encode(packId, images));
  encodeUpload = (packId: string, png: Uint8Array, maxBytes: number) =>
    this.run((h) => h.encodeUpload(packId, png, maxBytes));
  exportGif = (packId: string, hs: Float32Array[], opts: { scale?: number; delayMs?: number }) =>
    this.run((h) => h.exportGif(packId, hs, opts));
  checkPicture = (packId: string, pngBase64: string) => this.run(async (h) => h.checkPicture(packId, pngBase64));
  previewOpen = (key: string, packId: string, termSets: Term[][], steps: number) =>
    this.run((h) => h.previewOpen(key, packId, termSets, steps));
  previewStep = (key: string) => this.run((h) => h.previewStep(key));
  previewFinish = (key: string) => this.run((h) => h.previewFinish(key));
  inFlight = () => this.pending;
  workerOf = (_roomId: string): number | undefined => 0;

  async close(): Promise<void> {
    this.closed = true;
    await this.lock;
  }
}

// ------------------------------------------------------------------------------------------ workers

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  rooms: Set<string>;
  previews: Set<string>;
  /** starts of this slot's worker (1 = never restarted) */
  starts: number;
  startedAt: number;
  /** the worker exited: calls fail at once until its replacement is up */
  dead: boolean;
  /** resolves close(): the worker answered `closed` (nothing in flight any more) */
  closed?: () => void;
}

export interface WorkerPoolOptions {
  workers: number;
  backend: string | undefined;
  /** pack id → folder (each worker loads its own copy) */
  packDirs: Map<string, string>;
  /** the chain to re-open when a room's worker had to be restarted (null: the room is gone) */
  restore: (roomId: string) => OpenChain | null;
  log?: (line: string) => void;
  /** the worker module; default: worker.ts beside this file */
  entry?: string;
}

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
const RESTART_DELAY_MS = 1000;
const CRASH_LOOP_MS = 10_000;

/** Keep tsx's own loader flags out of the worker (the boot file registers tsx there). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--import' || a === '--loader' || a === '--require' || a === '-r') && /tsx/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|require)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}

export class WorkerPool implements Sampler {
  readonly workers: number;
  readonly traffic = { updates: 0, updateBytes: 0 };
  private readonly slots: Slot[] = [];
  private readonly roomSlot = new Map<string, Slot>();
  private readonly previewSlot = new Map<string, Slot>();
  /** slot index → the replacement of its dead worker, once started */
  private readonly replacements = new Map<
    number,
    { promise: Promise<Slot>; resolve(s: Slot): void; reject(e: Error): void }
  >();
  private nextId = 1;
  private closed = false;
  private readonly log: (line: string) => void;
  private readonly entry: string;
  /** the backend the workers reported */
  backend = '';

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.workers = opts.workers;
    this.log = opts.log ?? (() => {});
    this.entry =
      opts.entry ?? new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;
  }

  /** Start `workers` threads and wait until each has its backend and packs (a failure throws). */
  static async start(opts: WorkerPoolOptions): Promise<WorkerPool> {
    if (!(opts.workers >= 1)) throw new Error('a worker pool needs at least one worker');
    const pool = new WorkerPool(opts);
    for (let i = 0; i < opts.workers; i++) pool.slots.push(pool.spawn(i, 1));
    try {
      await Promise.all(pool.slots.map((s) => s.ready));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private spawn(index: number, starts: number, carry?: Slot): Slot {
    const init: WorkerInit = {
      backend: this.opts.backend,
      packs: [...this.opts.packDirs].map(([id, dir]) => ({ id, dir })),
      entry: this.entry,
      index,
    };
    const worker = new Worker(BOOT, { workerData: init, execArgv: workerExecArgv(), name: `ppgn-sampler-${index}` });
    const slot: Slot = {
      index,
      worker,
      ready: Promise.resolve(),
      pending: new Map(),
      rooms: carry?.rooms ?? new Set(),
      previews: new Set(),
      starts,
      startedAt: Date.now(),
      dead: false,
    };
    let exited = false;
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          this.backend = m.backend;
          resolve();
        } else if (m.type === 'fatal') {
          reject(reviveError(m.error));
          void worker.terminate();
        } else if (m.type === 'log') {
          this.log(`sampler ${index}: ${m.line}`);
        } else if (m.type === 'closed') {
          slot.closed?.();
        } else {
          const p = slot.pending.get(m.id);
          if (!p) return;
          slot.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(reviveError(m.error));
        }
      });
      worker.on('error', (err: Error) => {
        this.log(`sampler ${index}: worker error: ${err.stack ?? err.message}`);
        reject(err);
      });
      worker.on('exit', (code) => {
        if (exited) return;
        exited = true;
        reject(new SamplerCrashError(`sampler worker ${index} exited (code ${code}) while starting`));
        this.onExit(slot, code);
      });
    });
    slot.ready.catch(() => {});
    // not unref()'d: a command-line tool waiting for a worker's answer must not exit meanwhile
    // (the pool's close() ends the workers)
    return slot;
  }

  /** A worker went away: fail its calls; unless the pool is closing, start it again and re-open its rooms. */
  private onExit(slot: Slot, code: number) {
    slot.dead = true;
    const err = this.closed
      ? new SamplerClosedError()
      : new SamplerCrashError(`sampler worker ${slot.index} stopped (exit code ${code})`);
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
    for (const key of slot.previews) this.previewSlot.delete(key);
    slot.previews.clear();
    if (this.closed || this.slots[slot.index] !== slot) return;
    let resolve!: (s: Slot) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Slot>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {});
    this.replacements.set(slot.index, { promise, resolve, reject });
    this.log(
      `sampler worker ${slot.index} stopped (exit code ${code}); starting it again, ${slot.rooms.size} room(s) resume from their last step`,
    );
    const restart = () => {
      if (this.closed) return;
      const next = this.spawn(slot.index, slot.starts + 1, slot);
      this.slots[slot.index] = next;
      // the re-opens are the new worker's first requests: later calls for these rooms queue behind them
      for (const roomId of [...next.rooms]) {
        const o = this.opts.restore(roomId);
        if (!o) {
          next.rooms.delete(roomId);
          this.roomSlot.delete(roomId);
          continue;
        }
        this.roomSlot.set(roomId, next);
        this.post(next, 'open', [o]).catch((e: Error) =>
          this.log(`room ${roomId}: could not be re-opened after the restart (${e.message})`),
        );
      }
      // calls that waited for the restart go after the re-opens
      this.replacements.get(slot.index)?.resolve(next);
      this.replacements.delete(slot.index);
    };
    // a worker that keeps dying right after it starts is started again more slowly
    if (Date.now() - slot.startedAt < CRASH_LOOP_MS) setTimeout(restart, RESTART_DELAY_MS).unref();
    else restart();
  }

  private post<T>(slot: Slot, method: HostMethod, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new SamplerClosedError());
    if (slot.dead) {
      // the worker is being restarted: the call goes to its replacement (after the rooms are re-opened)
      const next = this.replacements.get(slot.index);
      if (next) return next.promise.then((s) => this.post<T>(s, method, args));
      const current = this.slots[slot.index]!;
      if (current !== slot && !current.dead) return this.post<T>(current, method, args);
      return Promise.reject(new SamplerCrashError(`sampler worker ${slot.index} stopped`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: Request = { id, method, args };
      slot.worker.postMessage(req);
    });
  }

  private leastLoaded(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots)
      if (s.rooms.size < best.rooms.size || (s.rooms.size === best.rooms.size && s.pending.size < best.pending.size))
        best = s;
    return best;
  }

  private leastBusy(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  private slotOf(roomId: string): Slot {
    const s = this.roomSlot.get(roomId);
    if (!s) throw new Error(`room ${roomId} has no chain in the sampler`);
    return this.slots[s.index]!;
  }

  /** which worker a room's chain lives in (tick batching, tests) */
  workerOf(roomId: string): number | undefined {
    return this.roomSlot.get(roomId)?.index;
  }

  /** the worker thread at `index` (tests use it to simulate a crash) */
  thread(index: number): Worker {
    return this.slots[index]!.worker;
  }

  async open(o: OpenChain): Promise<ChainPosition> {
    const known = this.roomSlot.get(o.roomId);
    const slot = known ? this.slots[known.index]! : this.leastLoaded();
    slot.rooms.add(o.roomId);
    this.roomSlot.set(o.roomId, slot);
    try {
      return await this.post<ChainPosition>(slot, 'open', [o]);
    } catch (err) {
      if (!known) {
        slot.rooms.delete(o.roomId);
        this.roomSlot.delete(o.roomId);
      }
      throw err;
    }
  }

  update(roomId: string, change: ChainChange): Promise<void> {
    count(this.traffic, change);
    return this.post(this.slotOf(roomId), 'update', [roomId, change]);
  }

  reset(roomId: string, spec: ChainSpec): Promise<ChainPosition> {
    return this.post(this.slotOf(roomId), 'reset', [roomId, spec]);
  }

  setCode(roomId: string, h: Float32Array): Promise<void> {
    return this.post(this.slotOf(roomId), 'setCode', [roomId, h]);
  }

  async drop(roomId: string): Promise<void> {
    const slot = this.roomSlot.get(roomId);
    if (!slot) return;
    this.roomSlot.delete(roomId);
    const current = this.slots[slot.index]!;
    current.rooms.delete(roomId);
    await this.post(current, 'drop', [roomId]).catch(() => {});
  }

  frameImage(roomId: string): Promise<{ image: Float32Array; png: Uint8Array }> {
    return this.post(this.slotOf(roomId), 'frameImage', [roomId]);
  }

  async step(roomIds: string[]): Promise<StepResult[]> {
    if (this.closed) throw new SamplerClosedError();
    const bySlot = new Map<Slot, string[]>();
    const waiting: StepResult[] = [];
    for (const id of roomIds) {
      const known = this.roomSlot.get(id);
      if (!known) {
        // as the in-process host answers: this room fails (and is quarantined), the others step
        waiting.push({ roomId: id, ok: false, error: `room ${id} has no chain in this sampler` });
        continue;
      }
      const s = this.slots[known.index]!;
      // a worker being restarted: its rooms skip this tick rather than hold it up
      if (s.dead)
        waiting.push({ roomId: id, ok: false, error: `sampler worker ${s.index} is restarting`, retry: true });
      else bySlot.set(s, [...(bySlot.get(s) ?? []), id]);
    }
    const parts = await Promise.all(
      [...bySlot].map(([slot, ids]) =>
        this.post<StepOutcome[]>(slot, 'step', [ids]).catch((err: Error): StepResult[] => {
          if (err instanceof SamplerClosedError) throw err;
          return ids.map((roomId) => ({ roomId, ok: false as const, error: err.message, crashed: true as const }));
        }),
      ),
    );
    return [...parts.flat(), ...waiting];
  }

  render(packId: string, hs: Float32Array[], roomId?: string): Promise<Float32Array[]> {
    return this.post(roomId && this.roomSlot.has(roomId) ? this.slotOf(roomId) : this.leastBusy(), 'render', [
      packId,
      hs,
    ]);
  }

  renderPng(packId: string, h: Float32Array, roomId?: string): Promise<Uint8Array> {
    return this.post(roomId && this.roomSlot.has(roomId) ? this.slotOf(roomId) : this.leastBusy(), 'renderPng', [
      packId,
      h,
    ]);
  }

  seenAs(packId: string, h: Float32Array): Promise<SeenLabel[]> {
    return this.post(this.leastBusy(), 'seenAs', [packId, h]);
  }

  encode(packId: string, images: Float32Array[]): Promise<Float32Array[]> {
    return this.post(this.leastBusy(), 'encode', [packId, images]);
  }

  encodeUpload(packId: string, png: Uint8Array, maxBytes: number): Promise<Float32Array> {
    return this.post(this.leastBusy(), 'encodeUpload', [packId, png, maxBytes]);
  }

  exportGif(packId: string, hs: Float32Array[], opts: { scale?: number; delayMs?: number }): Promise<Uint8Array> {
    return this.post(this.leastBusy(), 'exportGif', [packId, hs, opts]);
  }

  checkPicture(packId: string, pngBase64: string): Promise<string | null> {
    return this.post(this.leastBusy(), 'checkPicture', [packId, pngBase64]);
  }

  async previewOpen(key: string, packId: string, termSets: Term[][], steps: number): Promise<void> {
    const slot = this.leastBusy();
    this.previewSlot.set(key, slot);
    slot.previews.add(key);
    await this.post(slot, 'previewOpen', [key, packId, termSets, steps]);
  }

  private previewOf(key: string): Slot {
    const s = this.previewSlot.get(key);
    if (!s) throw new SamplerCrashError(`preview ${key} was lost (its sampler worker stopped)`);
    return s;
  }

  previewStep(key: string): Promise<void> {
    return this.post(this.previewOf(key), 'previewStep', [key]);
  }

  async previewFinish(key: string): Promise<Uint8Array[]> {
    const slot = this.previewOf(key);
    try {
      return await this.post(slot, 'previewFinish', [key]);
    } finally {
      this.previewSlot.delete(key);
      slot.previews.delete(key);
    }
  }

  inFlight(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  /** Stop every worker now (a step in flight is dropped; its room keeps the last step the main thread has). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replacements.values()) r.reject(new SamplerClosedError());
    this.replacements.clear();
    // each worker first finishes the request in flight (a step, a render): ending a thread under an ONNX
    // Runtime run crashes the process when the run calls back. A worker that does not answer in time is ended anyway.
    await Promise.all(
      this.slots.map(async (s) => {
        if (!s.dead) {
          const done = new Promise<void>((resolve) => {
            s.closed = resolve;
            s.worker.once('exit', () => resolve());
          });
          s.worker.postMessage({ type: 'close' } satisfies ToWorker);
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
          clearTimeout(timer);
        }
        await s.worker.terminate().catch(() => {});
      }),
    );
  }
}

/** Count a steering change: typed arrays by their bytes, everything else by its JSON length. */
function count(traffic: Sampler['traffic'], change: ChainChange): void {
  let bytes = 0;
  const json = JSON.stringify(change, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v)) {
      bytes += v.byteLength;
      return null;
    }
    return v;
  });
  traffic.updates += 1;
  traffic.updateBytes += bytes + json.length;
}
