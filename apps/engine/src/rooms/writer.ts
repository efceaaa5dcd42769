// Write-behind for one room: what steering changed reaches Postgres in order, coalesced, and is
// retried with back-off while the database is unreachable. Rooms keep running meanwhile; once the
// database answers again the backlog is flushed in one transaction, so nothing acknowledged is lost
// and nothing is half-written.
import { LeaseLostError, type Lease } from '../cluster/leases';
import type { RoomState } from '@ppgn/shared';
import type { ActivityRecord, PendingWrite, RoomAccess, RoomStore } from './store';

export type { ActivityRecord, PendingWrite, RoomAccess } from './store';

export interface WriterOptions {
  /** first retry after this long; doubles per failure up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: (line: string) => void;
  /** cluster: the lease the writes are fenced with (null: a single engine, no fencing) */
  lease?: () => Lease | null;
  /** the lease is gone (another engine owns the room): nothing more is written */
  onLost?: () => void;
}

const isEmpty = (p: PendingWrite) =>
  p.state === undefined &&
  p.contextPng === undefined &&
  p.checkpoint === undefined &&
  p.access === undefined &&
  p.activity.length === 0;

/** `later` on top of `earlier`: later fields win, activity keeps both in order. */
export function mergePending(earlier: PendingWrite, later: PendingWrite): PendingWrite {
  const out: PendingWrite = { ...earlier, activity: [...earlier.activity, ...later.activity] };
  if (later.state !== undefined) out.state = later.state;
  if (later.contextPng !== undefined) out.contextPng = later.contextPng;
  if (later.checkpoint !== undefined) out.checkpoint = later.checkpoint;
  if (later.access !== undefined) out.access = { ...earlier.access, ...later.access };
  return out;
}

export class RoomWriter {
  private pending: PendingWrite = { activity: [] };
  private inFlight: Promise<void> | null = null;
  /** what the write in flight carries (it is put back under `pending` if it fails) */
  private inFlightBatch: PendingWrite | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly store: RoomStore,
    private readonly roomId: string,
    private readonly opts: WriterOptions = {},
  ) {}

  /** a state change (with its activity entry, when it has one) */
  state(
    state: RoomState,
    activity: Omit<ActivityRecord, 'version'> | null,
    extra: { contextPng?: Uint8Array | null } = {},
  ) {
    this.add({ state, ...extra, activity: activity ? [{ ...activity, version: state.version }] : [] });
  }

  checkpoint(step: number, h: Float32Array) {
    this.add({ checkpoint: { step, h }, activity: [] });
  }

  /** the owner's role grants / removals (the whole current value of each field given) */
  access(access: RoomAccess) {
    this.add({ access: structuredClone(access), activity: [] });
  }

  /** writes waiting for the database (0 = everything is in Postgres) */
  get backlog(): number {
    const p = this.pending;
    return (
      p.activity.length +
      (p.state || p.contextPng !== undefined || p.checkpoint || p.access ? 1 : 0) +
      (this.inFlight ? 1 : 0)
    );
  }

  /** consecutive failed attempts (0 = the last write went through) */
  get failing(): number {
    return this.failures;
  }

  /** Resolves once everything added so far is in Postgres, or after `timeoutMs` (false then). */
  async drain(timeoutMs = Infinity): Promise<boolean> {
    if (this.backlog === 0) return true;
    if (this.retry) {
      // do not sit out the back-off when someone is waiting
      clearTimeout(this.retry);
      this.retry = null;
      this.kick();
    }
    return new Promise<boolean>((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(false), timeoutMs) : null;
      this.waiters.push(() => {
        if (timer) clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Everything not known to be in Postgres: the write in flight and what waits behind it, merged (null: none).
   * For keeping on disk at a stop the database did not let drain (spill.ts; a replay never rolls back).
   */
  unsaved(): PendingWrite | null {
    const all = mergePending(this.inFlightBatch ?? { activity: [] }, this.pending);
    return isEmpty(all) ? null : all;
  }

  /** Stop retrying (after a final drain); later additions are dropped. */
  close() {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.settle(true);
  }

  private add(p: PendingWrite) {
    if (this.closed) return;
    this.pending = mergePending(this.pending, p);
    if (!this.retry) this.kick();
  }

  private kick() {
    if (this.inFlight || this.closed || isEmpty(this.pending)) {
      this.settle();
      return;
    }
    const batch = this.pending;
    this.pending = { activity: [] };
    this.inFlightBatch = batch;
    this.inFlight = this.store
      .write(this.roomId, batch, this.opts.lease?.() ?? null)
      .then(
        () => {
          if (this.failures > 0)
            this.opts.log?.(
              `room ${this.roomId}: database reachable again; ${batch.activity.length} change(s) written`,
            );
          this.failures = 0;
        },
        (err: Error) => {
          if (err instanceof LeaseLostError) {
            // another engine adopted the room: what this one still had is not its to write
            this.opts.log?.(
              `room ${this.roomId}: ${err.message}; ${batch.activity.length} unsaved change(s) dropped here`,
            );
            this.pending = { activity: [] };
            this.close();
            this.opts.onLost?.();
            return;
          }
          // put the batch back under anything newer, and try again later
          this.pending = mergePending(batch, this.pending);
          this.failures += 1;
          if (this.failures === 1)
            this.opts.log?.(
              `room ${this.roomId}: saving failed (${err.message.split('\n')[0]}); retrying with back-off`,
            );
          const delay = Math.min(
            this.opts.maxDelayMs ?? 8000,
            (this.opts.baseDelayMs ?? 250) * 2 ** (this.failures - 1),
          );
          if (!this.closed) this.retry = setTimeout(() => ((this.retry = null), this.kick()), delay);
        },
      )
      .finally(() => {
        this.inFlight = null;
        this.inFlightBatch = null;
        if (!this.retry) this.kick();
      });
  }

  private settle(force = false) {
    if (!force && this.backlog !== 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
