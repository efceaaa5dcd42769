// The clock of the live rooms: every tick steps all due rooms at once (rooms of one worker and pack in one
// batched call, workers in parallel; frames rendered and PNG-encoded there), hands frames out, quarantines
// chains that throw, and checkpoints positions every few seconds.
import type { Frame } from '@ppgn/shared';
import type { Sampler } from '../sampling/protocol';
import { asBuffer } from './pictures';
import type { Room, RoomEvents } from './room';

const CHECKPOINT_MS = 2000;
/** a room in flight when its worker died this many times in a row is quarantined (it may be the cause) */
const CRASHES_QUARANTINE = 2;

export class Scheduler {
  private loop: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  /** a tick is running (its sampler call in flight) */
  private ticking = false;
  private lastCheckpoint = 0;
  /** exposed for the benchmark / health */
  readonly stats = { ticks: 0, lastTickMs: 0, framesOut: 0 };
  /**
   * Rooms stepped per tick and sampler worker. Small on CPU backends, where batching gains little and a big
   * batch makes a steered room wait for everyone's step; large on GPU backends, where one batched call costs
   * about what one room does.
   */
  maxBatch = Infinity;

  constructor(
    private readonly rooms: Map<string, Room>,
    private readonly sampler: Sampler,
    private readonly events: RoomEvents,
    /** run with no other sampler call that must not interleave (the manager's lock) */
    private readonly exclusive: <T>(fn: () => Promise<T> | T) => Promise<T>,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = setTimeout(this.run, 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.loop) clearTimeout(this.loop);
  }

  /**
   * A room became due now (steered, reset, asked for steps): tick at once instead of at the end of the timer,
   * which may be up to 50 ms away while no other room is due. A tick in flight is left alone: the next one
   * follows it without delay, steered rooms first.
   */
  wake(): void {
    if (this.stopped || this.ticking) return;
    if (this.loop) clearTimeout(this.loop);
    // a macrotask, not a microtask: the other intents that arrived in the same read are applied first and
    // share the tick
    this.loop = setTimeout(this.run, 0);
  }

  private readonly run = async () => {
    if (this.stopped) return;
    this.ticking = true;
    try {
      await this.tick();
    } catch (err) {
      if (!this.stopped) this.log(`sampling tick failed: ${(err as Error).stack ?? err}`);
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    this.loop = setTimeout(this.run, this.delayToNext());
  };

  /** Sampled on ticks: not idle, not quarantined, and (in a cluster) still leased. */
  private active(room: Room, now: number): boolean {
    // a room whose lease this engine could not renew in time is left alone (another may adopt it)
    if (room.lease && now > room.lease.until) return false;
    return room.chainError === null && !room.idle(now);
  }

  private delayToNext(): number {
    let due = Infinity;
    const now = Date.now();
    for (const r of this.rooms.values()) {
      if (!this.active(r, now)) continue;
      if (r.pendingSteps > 0) return 0;
      if (r.model.state.running) due = Math.min(due, r.nextDue);
    }
    if (due === Infinity) return 50;
    return Math.max(1, Math.min(50, due - Date.now()));
  }

  /** The rooms to step now: at most maxBatch per worker, steered ones (changed since their frame) first. */
  private due(now: number): Room[] {
    const due: Room[] = [];
    for (const r of this.rooms.values()) {
      if (!this.active(r, now) || r.resetting) continue;
      if (r.pendingSteps > 0 || (r.model.state.running && now >= r.nextDue)) due.push(r);
    }
    if (due.length <= this.maxBatch) return due;
    // so that every worker gets work and no steered room waits for a big batch: rooms changed since their last
    // frame (or asked for steps) first, then the most overdue
    const urgent = (r: Room) => r.pendingSteps > 0 || !r.lastFrame || r.model.version > r.lastFrame.version;
    const byWorker = new Map<number, Room[]>();
    for (const r of due) {
      const w = this.sampler.workerOf(r.id) ?? 0;
      byWorker.set(w, [...(byWorker.get(w) ?? []), r]);
    }
    return [...byWorker.values()].flatMap((rooms) =>
      rooms
        .map((r) => ({ r, u: urgent(r) ? 0 : 1 }))
        .sort((a, b) => a.u - b.u || a.r.nextDue - b.r.nextDue)
        .slice(0, this.maxBatch)
        .map((x) => x.r),
    );
  }

  /** One tick; returns how many rooms advanced. A room whose chain throws is quarantined; the others advance. */
  async tick(now = Date.now()): Promise<number> {
    const due = this.due(now);
    if (due.length === 0) {
      if (now - this.lastCheckpoint > CHECKPOINT_MS) this.checkpointAll(false);
      return 0;
    }
    const t0 = performance.now();
    const frames: Frame[] = [];
    await this.exclusive(async () => {
      // each room as its step is sent: the version the frame will carry (steering applied meanwhile shows in the
      // next frame) and its count of due requests (one arriving meanwhile keeps the room due)
      const sent = new Map(due.map((r) => [r.id, { version: r.model.version, requests: r.dueRequests }]));
      const results = await this.sampler.step(due.map((r) => r.id));
      for (const res of results) {
        const room = this.rooms.get(res.roomId);
        if (!room) continue;
        if (!res.ok) {
          if ('retry' in res) continue; // its worker is being restarted: next tick
          if ('crashed' in res) {
            room.crashes += 1;
            this.log(`room ${res.roomId}: step lost (${res.error})`);
            if (room.crashes >= CRASHES_QUARANTINE)
              room.quarantine(`its sampler worker stopped ${room.crashes} times while stepping it`);
          } else room.quarantine(res.error);
          continue;
        }
        room.crashes = 0;
        if (room.pendingSteps > 0) room.pendingSteps -= 1;
        // the next frame one period on — unless the room was steered while this step was in flight: that
        // change shows in the very next tick (its step here was sent before it), not a whole period later
        const at = sent.get(room.id);
        if (room.dueRequests === at?.requests)
          room.nextDue = Math.max(room.nextDue + 1000 / room.model.state.params.fps, now);
        room.chain.advanced(res);
        // a paused room (its last step landed after the pause, or someone pressed Step) is written where it
        // stands now, not at the next periodic checkpoint: a restart brings it back at the step its people saw
        if (!room.model.state.running) room.checkpoint(false);
        if (res.png.byteLength > 0)
          frames.push({
            roomId: res.roomId,
            step: res.step,
            version: at?.version ?? room.model.version,
            image: asBuffer(res.png),
            scores: res.scores,
            conditionScores: res.conditionScores,
            hNorm: res.hNorm,
            ...(res.acceptRate !== undefined ? { acceptRate: res.acceptRate } : {}),
            at: Date.now(),
          });
      }
    });
    for (const frame of frames) {
      const room = this.rooms.get(frame.roomId);
      if (room) room.lastFrame = frame;
      this.events.frame(frame.roomId, frame);
      this.stats.framesOut += 1;
    }
    this.stats.ticks += 1;
    this.stats.lastTickMs = performance.now() - t0;
    if (now - this.lastCheckpoint > CHECKPOINT_MS) this.checkpointAll(false);
    return due.length;
  }

  /** Hand every room's position to its writer (`force`: also those that have not moved). */
  checkpointAll(force: boolean): void {
    this.lastCheckpoint = Date.now();
    for (const room of this.rooms.values()) room.checkpoint(force);
  }
}
