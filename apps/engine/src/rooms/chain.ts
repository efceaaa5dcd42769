// The main thread's copy of where a room's chain is (the chain itself lives in the sampler): its step, code
// and RNG for checkpoints and saves, a thinned history for scrubbing and GIFs, and the blobs that the
// versioned state refers to by reference (start codes, context pictures), bounded per room.
import type { RngState } from '@ppgn/core';
import { RoomError } from './errors';

const HISTORY_EVERY = 5;
const HISTORY_LENGTH = 240;
const BLOBS_KEPT = 16;

interface HistoryEntry {
  step: number;
  h: Float32Array;
}

/** where a chain stands after a step or a restart */
export interface ChainPosition {
  step: number;
  h: Float32Array;
  /** RNG state after `step` (resumes a restarted worker exactly); null before the first report */
  rng: RngState | null;
}

export class ChainMirror implements ChainPosition {
  step: number;
  h: Float32Array;
  rng: RngState | null;
  private history: HistoryEntry[];
  /** the step last handed to the writer as a checkpoint (-1: write the next one whatever it is) */
  private checkpointed: number;

  constructor(pos: ChainPosition) {
    this.step = pos.step;
    this.h = pos.h;
    this.rng = pos.rng;
    this.history = [{ step: pos.step, h: Float32Array.from(pos.h) }];
    this.checkpointed = pos.step;
  }

  /** A step came back from the sampler. */
  advanced(pos: ChainPosition): void {
    this.step = pos.step;
    this.h = pos.h;
    this.rng = pos.rng;
    if (pos.step % HISTORY_EVERY === 0) {
      this.history.push({ step: pos.step, h: Float32Array.from(pos.h) });
      if (this.history.length > HISTORY_LENGTH) this.history.shift();
    }
  }

  /** The chain restarted (a new seed): its history starts again. */
  restarted(pos: ChainPosition): void {
    this.step = pos.step;
    this.h = pos.h;
    this.rng = pos.rng;
    this.history = [];
  }

  /** The chain goes on from another code (a start picture, undo of one): history starts there; checkpointed soon. */
  movedTo(h: Float32Array): void {
    this.h = Float32Array.from(h);
    this.history = [{ step: this.step, h: Float32Array.from(h) }];
    this.checkpointed = -1;
  }

  historySteps(): number[] {
    return this.history.map((e) => e.step);
  }

  /** the last `n` kept codes, oldest first */
  recent(n: number): Float32Array[] {
    return this.history.slice(-n).map((e) => e.h);
  }

  codeAt(step?: number): { step: number; h: Float32Array } {
    if (step === undefined || step === this.step) return { step: this.step, h: Float32Array.from(this.h) };
    const e = this.history.find((x) => x.step === step);
    if (!e)
      throw new RoomError(
        `step ${step} is not in the kept history (kept: every ${HISTORY_EVERY} steps, last ${HISTORY_LENGTH})`,
      );
    return { step: e.step, h: Float32Array.from(e.h) };
  }

  /** The position to checkpoint now (null: nothing new since the last one, unless `force`). */
  checkpoint(force: boolean): { step: number; h: Float32Array } | null {
    if (!force && this.checkpointed === this.step) return null;
    this.checkpointed = this.step;
    return { step: this.step, h: Float32Array.from(this.h) };
  }
}

/** Blobs by reference, the newest BLOBS_KEPT (what undo can reach). */
export class Kept<T> {
  private readonly items = new Map<string, T>();
  constructor(private readonly limit = BLOBS_KEPT) {}

  keep(ref: string, value: T): string {
    this.items.delete(ref);
    this.items.set(ref, value);
    while (this.items.size > this.limit) this.items.delete(this.items.keys().next().value!);
    return ref;
  }

  get(ref: string): T | undefined {
    return this.items.get(ref);
  }
}
