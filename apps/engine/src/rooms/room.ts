// One live room: its versioned state (RoomModel), who may use it (Access), who is in it (Presence), where its
// chain stands (ChainMirror; the chain itself lives in the sampler) and its database writes (RoomWriter).
// Every change to a room goes through a method here; the manager only keeps the registry and the clock.
import { createHash } from 'node:crypto';
import type { Pack } from '@ppgn/core';
import {
  LIMITS,
  patchKeys,
  type ActivityItem,
  type AdminAction,
  type Frame,
  type Intent,
  type Member,
  type Role,
  type RoomCondition,
  type RoomPatch,
  type RoomStart,
} from '@ppgn/shared';
import { RoomError } from './errors';
import type { Actor, RoomModel } from './model';
import { Access, assertMay } from './access';
import type { RoomEvents } from './events';

export type { RoomEvents } from './events';
import { Presence } from './presence';
import { ChainMirror, Kept } from './chain';
import { asBuffer, blobHash, decodeContext, norm } from './pictures';
import { chainChange } from '../recipe';
import { loggedIntent, type RoomTokens } from './store';
import type { RoomAccess, RoomWriter } from './writer';
import type { ChainSpec, OpenChain, Sampler } from '../sampling/protocol';
import type { Lease } from '../cluster/leases';

/** What a room uses of the engine around it. */
export interface RoomDeps {
  sampler: Sampler;
  events: RoomEvents;
  log: (line: string) => void;
  /** run with no sampler step in flight */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T>;
  /** throws while the engine shuts down (steering is refused before anything changes) */
  assertRunning(): void;
  /** a room with nobody connected stops sampling this long after the last client left */
  idleMs: number;
  /** someone whose connection dropped stays a member this long */
  graceMs: number;
  /** reference pictures are decoded and checked in a sampler worker before a change carries them */
  checkPictures(packId: string, targets: RoomCondition['target'][]): Promise<void>;
  /** a room whose database backlog is longer than this refuses steering ("unavailable") until it drains */
  maxUnsaved(): number;
  /** the scheduler: a room became due now (steered, reset, woken) — step it without waiting for the next timer */
  wake(): void;
}

export interface RoomParts {
  model: RoomModel;
  pack: Pack;
  chain: ChainMirror;
  tokens: RoomTokens;
  roles: Record<string, Role>;
  banned: string[];
  contextImage: Float32Array | null;
  /** the stored context picture, by hash */
  contextBlob: { hash: string; png: Uint8Array } | null;
  parentItemId: string | null;
  /** why the stored state cannot be sampled (the room opens paused with it); null = fine */
  broken: string | null;
}

const ACTIVITY_KEPT = 50;
/** how long an owner's kick or grant waits for the database before it is acknowledged anyway (the write keeps retrying) */
const ACCESS_WAIT_MS = 3000;

export class Room {
  readonly model: RoomModel;
  readonly pack: Pack;
  readonly chain: ChainMirror;
  readonly access: Access;
  readonly presence: Presence;
  /** this room's database writes: in order, coalesced, retried while the database is down (set by the manager) */
  writer!: RoomWriter;
  readonly parentItemId: string | null;
  contextImage: Float32Array | null;
  /** context pictures (PNG) by content hash: what the versioned state's context refers to */
  private readonly blobs = new Kept<Uint8Array>();
  /** codes the chain was started from (a start picture, the chain before it): what undo can reach */
  private readonly codes = new Kept<Float32Array>();
  lastFrame: Frame | null = null;
  readonly activity: ActivityItem[] = [];
  nextDue = Date.now();
  /** counts the requests for a step now (steering, reset, a wake): one made while a step is in flight keeps the room due */
  dueRequests = 0;
  pendingSteps = 0;
  /** when the last client left (ms); null while someone is connected. Idle rooms are not sampled. */
  emptySince: number | null = Date.now();
  /** why the chain is quarantined (it threw while stepping); null = healthy */
  chainError: string | null = null;
  /** steps lost because its sampler worker died (two in a row quarantine it) */
  crashes = 0;
  /** cluster: this engine's lease on the room (its writes are fenced by it); null on a single engine */
  lease: Lease | null = null;
  /** its chain is being restarted (a new seed): not stepped until that is done */
  resetting = false;

  constructor(
    parts: RoomParts,
    private readonly deps: RoomDeps,
  ) {
    this.model = parts.model;
    this.pack = parts.pack;
    this.chain = parts.chain;
    this.access = new Access(parts.tokens, parts.roles, parts.banned);
    this.presence = new Presence(deps.graceMs, (presenceOnly) =>
      deps.events.members(this.id, this.presence.list(), presenceOnly),
    );
    this.contextImage = parts.contextImage;
    if (parts.contextBlob) this.blobs.keep(parts.contextBlob.hash, parts.contextBlob.png);
    this.parentItemId = parts.parentItemId;
    if (parts.broken)
      this.chainError = `this room's saved conditions cannot be sampled (${parts.broken}): change or remove a condition, or the mode, to go on`;
  }

  get id(): string {
    return this.model.state.id;
  }

  // ------------------------------------------------------------------ steering

  /** A person's change: checked, applied, versioned, stored, broadcast, and handed to the chain. */
  async steer(actor: Actor, intent: Intent): Promise<RoomPatch> {
    if ((intent.type === 'condition.add' || intent.type === 'condition.update') && intent.target)
      await this.deps.checkPictures(this.model.state.packId, [intent.target]);
    if (this.writer.backlog > this.deps.maxUnsaved())
      throw new RoomError(
        `the database has not taken this room's last ${this.writer.backlog} changes yet; steering is paused until it does (try again in a moment)`,
        'unavailable',
      );
    // "use the current frame" reads the chain's pixels: it waits until no step is in flight
    if (intent.type === 'mask.context' && intent.useCurrentFrame)
      return this.deps.exclusive(async () => {
        this.deps.assertRunning();
        const frame = await this.deps.sampler.frameImage(this.id);
        return this.apply(actor, intent, frame.png);
      });
    // Everything else applies at once, also while a step is in flight: the sampler takes calls in order (its
    // queue), so the chain update lands after that step and before the next, and frames carry the version their
    // step was sent under. The ack (and everyone's patch) does not wait for the sampler.
    this.deps.assertRunning();
    return this.apply(actor, intent);
  }

  /** `framePng`: the chain's current picture, kept by hash as the inpainting context it refers to. */
  private async apply(actor: Actor, intent: Intent, framePng?: Uint8Array): Promise<RoomPatch> {
    const frameHash = framePng ? this.blobs.keep(blobHash(framePng), framePng) : undefined;
    const { patch, summary, effects } = this.model.apply(intent, actor, this.chain.step, frameHash);
    const state = this.model.state;
    const changed = patchKeys(patch);
    let contextPng: Uint8Array | null | undefined;
    if (changed.includes('context')) {
      // the context follows the versioned state: set, removed, or brought back by undo/redo
      const blob = state.context?.hash ? this.blobs.get(state.context.hash) : undefined;
      if (state.context && !blob)
        this.deps.log(
          `room ${this.id}: context pixels ${state.context.hash ?? '(no hash)'} are not kept; the context stays as it was`,
        );
      else {
        contextPng = blob ?? null;
        this.contextImage = blob ? decodeContext(this.pack, blob) : null;
      }
    }
    // paused: the position is written now (a step still in flight is written when it lands, by the scheduler)
    if (changed.includes('running') && !state.running) this.checkpoint(false);
    if (effects.step) {
      this.pendingSteps = Math.min(LIMITS.stepsPerRequest, this.pendingSteps + effects.step);
      this.deps.wake();
    }
    const change = chainChange(patch, state, this.contextImage);
    const chainChanged = change !== null;
    // sent now, in version order (not awaited: the sampler applies calls in the order they were made): only
    // the records that changed (one stroke, one condition), never the whole state again
    if (change && !effects.reset)
      this.deps.sampler
        .update(this.id, change)
        .catch((err) => this.deps.log(`room ${this.id}: updating its chain failed (${(err as Error).message})`));
    // a quarantined chain gets another chance once someone changes what it samples
    if ((chainChanged || effects.reset) && this.chainError !== null) this.setChainError(null);
    // steering shows up in the very next frame, not one frame period later
    if (chainChanged || effects.reset) this.dueNow();
    const item = this.logActivity(patch.version, actor, summary);
    this.writer.state(
      this.model.snapshot(),
      { author: actor.userId, kind: intent.type, payload: { intent: loggedIntent(intent), summary } },
      { contextPng },
    );
    this.deps.events.patch(this.id, patch); // every version, even an empty one, so clients stay in step
    this.deps.events.activity(this.id, item);
    if (changed.includes('start') && state.start) {
      // undo / redo of a start picture: the chain goes back to (or forward to) that code
      const code = this.codes.get(state.start.ref);
      if (!code)
        this.deps.log(
          `room ${this.id}: the code of ${state.start.label} is no longer kept; the chain stays where it is`,
        );
      else
        await this.deps.exclusive(async () => {
          await this.setCode(code);
          this.chain.movedTo(code);
          this.dueNow();
          this.showStill(await this.render(code), patch.version, this.lastFrame ?? {});
        });
    }
    // a new seed (or undoing one) restarts the chain: after the step in flight, before the next
    if (effects.reset) {
      this.resetting = true;
      try {
        await this.deps.exclusive(async () => {
          this.chain.restarted(await this.deps.sampler.reset(this.id, this.spec()));
          // a paused room shows its new start at once (it would otherwise wait for Play or Step)
          if (!this.model.state.running) this.showStill(await this.render(this.chain.h), this.model.version, {});
        });
      } finally {
        this.resetting = false;
      }
    }
    return patch;
  }

  /** Restart the chain from a code (h₀ = E(x) of an uploaded picture): a versioned, undoable change. */
  async startFrom(actor: Actor, h: Float32Array): Promise<RoomPatch> {
    return this.deps.exclusive(async () => {
      this.deps.assertRunning();
      // on the person's undo stack: undo takes the chain back to where it was just before
      const before: RoomStart = {
        ref: this.keepCode(this.chain.h),
        setBy: actor.userId,
        label: 'the chain before the upload',
      };
      const next: RoomStart = { ref: this.keepCode(h), setBy: actor.userId, label: 'an uploaded image' };
      const { patch, summary } = this.model.startFrom(actor, next, before);
      await this.setCode(h);
      this.chain.movedTo(h);
      this.dueNow();
      // show the new starting picture now, also in a paused room (it would otherwise wait for Play or Step)
      const image = await this.render(h);
      const item = this.logActivity(patch.version, actor, summary);
      this.writer.state(this.model.snapshot(), { author: actor.userId, kind: 'chain.image', payload: { summary } }, {});
      this.deps.events.patch(this.id, patch);
      this.deps.events.activity(this.id, item);
      // reliable: right after the patch the transport is busy, and a volatile frame would be dropped
      this.showStill(image, patch.version, this.lastFrame ?? {});
      return patch;
    });
  }

  /** Replace the chain's code (not validated: the sampler throws on a bad one, which tests use to break a chain). */
  async setCode(h: Float32Array): Promise<void> {
    await this.deps.sampler.setCode(this.id, h);
    this.chain.h = Float32Array.from(h);
  }

  /** A picture of the chain as it stands (a new start), sent to everyone now: reliable, it is not followed by more. */
  showStill(image: Uint8Array, version: number, scores: Partial<Pick<Frame, 'scores' | 'conditionScores'>>): void {
    this.deps.events.frame(this.id, this.still(image, version, scores), true);
  }

  /** The chain as it stands, as the room's last frame (a new room: shown to whoever joins, sent to no one now). */
  still(image: Uint8Array, version: number, scores: Partial<Pick<Frame, 'scores' | 'conditionScores'>> = {}): Frame {
    return (this.lastFrame = {
      roomId: this.id,
      step: this.chain.step,
      version,
      image,
      scores: scores.scores ?? {},
      conditionScores: scores.conditionScores ?? {},
      hNorm: norm(this.chain.h),
      at: Date.now(),
    });
  }

  /** What the sampler needs to (re)build the chain: its steering and context picture. */
  spec(): ChainSpec {
    const { conditions, params, strokes, context, overrides } = this.model.state;
    return { state: { conditions, params, strokes, context, overrides }, contextImage: this.contextImage };
  }

  /** The chain as the main thread last saw it (a restarted sampler worker re-opens it from here). */
  restore(): OpenChain {
    const s = this.model.state;
    const { step, h, rng } = this.chain;
    return { roomId: this.id, packId: s.packId, spec: this.spec(), seed: s.params.seed, step, h0: h, rng };
  }

  /** The chain threw: it is paused with the reason until someone changes what it samples. */
  quarantine(why: string): void {
    this.deps.log(`room ${this.id}: chain failed and is paused (${why})`);
    this.setChainError(
      `the sampler failed on this room and paused it: ${why.split('\n')[0]}; change a condition or the parameters, or reset, to try again`,
    );
  }

  /** Step this room at the next tick, and have that tick now (not one timer period later). */
  private dueNow(): void {
    this.nextDue = Math.min(this.nextDue, Date.now());
    this.dueRequests += 1;
    this.deps.wake();
  }

  private setChainError(error: string | null): void {
    this.chainError = error;
    this.dueNow();
    this.deps.events.chainError(this.id, error);
  }

  // ------------------------------------------------------------------ people

  /** A connection of a person joins, or rejoins (an idle room wakes up). */
  join(userId: string, name: string, role: Role, socketId: string): Member {
    if (this.emptySince !== null && this.idle()) this.dueNow();
    this.emptySince = null;
    return this.presence.join(userId, name, role, socketId);
  }

  /** A connection closed (`left`: they meant it). */
  disconnect(userId: string, socketId: string, left: boolean): void {
    this.presence.disconnect(userId, socketId, left);
    if (!this.presence.connected() && this.emptySince === null) this.emptySince = Date.now();
  }

  /** Owner actions: remove someone (they cannot come back), or change their role. */
  async admin(actor: Actor, action: AdminAction): Promise<void> {
    assertMay(actor.role, 'manage');
    if (action.userId === actor.userId) throw new RoomError('you cannot do that to yourself');
    if (action.type === 'kick') {
      this.access.remove(action.userId);
      this.presence.remove(action.userId);
      if (!this.presence.connected()) this.emptySince ??= Date.now();
      // stored before the owner's ack: a ban survives a crash right after it
      await this.storeAccess({ banned: this.access.banned() });
      this.deps.events.kicked(this.id, action.userId, `removed by ${actor.name}`);
    } else {
      this.access.grant(action.userId, action.role);
      this.presence.setRole(action.userId, action.role);
      await this.storeAccess({ roles: this.access.roles() });
      this.deps.events.role(this.id, action.userId, action.role);
    }
    this.presence.announce();
  }

  /**
   * The owner replaces the editor and viewer links (e.g. after removing someone who still has one): the old
   * links admit no one new; everyone in the room now keeps their role as a grant to their person.
   */
  async replaceLinks(actor: Actor): Promise<RoomTokens> {
    if (actor.role !== 'owner') throw new RoomError('only the owner can replace the room’s links', 'forbidden');
    const tokens = this.access.replaceLinks(this.presence.people());
    await this.storeAccess({ roles: this.access.roles(), tokens });
    return tokens;
  }

  /** Nobody has been connected for idleMs: the room keeps its state but is not sampled. */
  idle(now = Date.now()): boolean {
    return this.emptySince !== null && now - this.emptySince >= this.deps.idleMs;
  }

  // ------------------------------------------------------------------ pictures, history

  /** G(h) as PNG, rendered and encoded by the room's sampler. */
  async render(h: Float32Array): Promise<Buffer> {
    return asBuffer(await this.deps.sampler.renderPng(this.model.state.packId, h, this.id));
  }

  /** an animated GIF of the kept history (at most its last `frames` entries), made in a sampler worker */
  exportGif(frames = 120): Promise<Uint8Array> {
    const kept = this.chain.recent(frames);
    if (kept.length === 0) throw new RoomError('no history kept yet; let the chain run a few steps', 'conflict');
    return this.deps.sampler.exportGif(this.model.state.packId, kept, { scale: 4, delayMs: 100 });
  }

  /** The inpainting context picture (PNG; null: none): the very bytes the state refers to. */
  contextPng(): Uint8Array | null {
    const hash = this.model.state.context?.hash;
    return this.contextImage && hash ? (this.blobs.get(hash) ?? null) : null;
  }

  /** Hand the chain's position to the writer (`force`: also when it has not moved). */
  checkpoint(force: boolean): void {
    const at = this.chain.checkpoint(force);
    if (at) this.writer.checkpoint(at.step, at.h);
  }

  private keepCode(h: Float32Array): string {
    const bytes = new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    return this.codes.keep(
      `code:${createHash('sha256').update(bytes).digest('hex').slice(0, 24)}`,
      Float32Array.from(h),
    );
  }

  private logActivity(version: number, actor: Actor, summary: string): ActivityItem {
    const item: ActivityItem = { version, author: actor.userId, authorName: actor.name, summary, at: Date.now() };
    this.activity.push(item);
    if (this.activity.length > ACTIVITY_KEPT) this.activity.shift();
    return item;
  }

  /**
   * Grants and removals go through the write-behind like everything else (in order, retried while the database
   * is down). The owner's ack waits until they are stored, except while the database is down: then it comes
   * after ACCESS_WAIT_MS and the write keeps being retried (the change holds in this engine meanwhile).
   */
  private async storeAccess(access: RoomAccess): Promise<void> {
    this.writer.access(access);
    if (!(await this.writer.drain(ACCESS_WAIT_MS)))
      this.deps.log(`room ${this.id}: who may use the room is not stored yet (database unavailable); retrying`);
  }
}
