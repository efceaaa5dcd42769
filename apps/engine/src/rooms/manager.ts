// Live rooms: owns room state (RoomModel), presence, persistence and the sampling loop. The chains
// themselves live in the sampler (sampling/pool.ts: worker threads, or the main thread with 0 workers);
// this side keeps a mirror of each chain's position (step, h, RNG) for checkpoints, history and saves.
// Every tick steps all due rooms at once: rooms on one worker and pack advance in one batched call,
// workers in parallel. It knows nothing of sockets: the socket layer subscribes to RoomEvents.
import { createHash } from 'node:crypto';
import {
  Condition,
  PpgnInputError,
  PngTooLargeError,
  packImageLimits,
  resolveCondition,
  decodePng,
  type Pack,
  type RngState,
} from '@ppgn/core';
import {
  LIMITS,
  patchKeys,
  type ActivityItem,
  type Frame,
  type Intent,
  type MaskStroke,
  type Member,
  type PresenceUpdate,
  type Role,
  type RoomCondition,
  type RoomPatch,
  type RoomStart,
  type RoomState,
  type SamplerParams,
} from '@ppgn/shared';
import { RoomError, RoomModel, type Actor } from './model';
import { newRoomState } from './defaults';
import { packParams, samplingProblem, termOf } from './mapping';
import { pictureRef } from './wire';
import type { ChainSpec, OpenChain } from '../sampling/host';
import type { Sampler } from '../sampling/pool';
import { RoomStore, loggedIntent, newId, newToken, type RoomTokens, type StoredRoom } from './store';
import { RoomWriter, type RoomAccess } from './writer';
import type { Lease } from '../cluster/leases';

export interface RoomEvents {
  patch(roomId: string, patch: RoomPatch): void;
  /** frames are volatile (slow clients drop them) unless `reliable` (a one-off picture nobody may miss) */
  frame(roomId: string, frame: Frame, reliable?: boolean): void;
  /** `presenceOnly`: only cursors or names moved (best-effort delivery) */
  members(roomId: string, members: Member[], presenceOnly?: boolean): void;
  activity(roomId: string, item: ActivityItem): void;
  kicked(roomId: string, userId: string, reason: string): void;
  role(roomId: string, userId: string, role: Role): void;
  /** the room's chain failed and is quarantined (error), or runs again (null) */
  chainError(roomId: string, error: string | null): void;
}

interface LiveMember extends Member {
  /** ids of this person's connected sockets in the room */
  sockets: Set<string>;
  /** their last connection dropped: they are removed when this fires, unless they come back */
  leaveTimer: ReturnType<typeof setTimeout> | null;
}

interface HistoryEntry {
  step: number;
  h: Float32Array;
}

/** The main thread's copy of where a room's chain is (the chain itself lives in the sampler). */
export interface ChainView {
  id: string;
  step: number;
  h: Float32Array;
  /** RNG state after `step` (resumes a restarted worker exactly); null before the first report */
  rng: RngState | null;
}

export interface LiveRoom {
  model: RoomModel;
  pack: Pack;
  chain: ChainView;
  tokens: RoomTokens;
  /** person id → role the owner gave them (persisted) */
  roles: Record<string, Role>;
  /** person ids the owner removed (persisted) */
  banned: Set<string>;
  /** person id → member */
  members: Map<string, LiveMember>;
  contextImage: Float32Array | null;
  /** context images (PNG) by content hash: what the versioned state's context refers to (bounded) */
  blobs: Map<string, Uint8Array>;
  /** codes the chain was started from (a start picture, the chain before it), by reference: what undo can reach */
  codes: Map<string, Float32Array>;
  lastFrame: Frame | null;
  history: HistoryEntry[];
  activity: ActivityItem[];
  nextDue: number;
  pendingSteps: number;
  checkpointedStep: number;
  /** this room's database writes: in order, coalesced, retried while the database is down */
  writer: RoomWriter;
  /** when the last client left (ms); null while someone is connected. Idle rooms are not sampled. */
  emptySince: number | null;
  /** why the chain is quarantined (it threw while stepping); null = healthy */
  chainError: string | null;
  /** the gallery item this room was remixed from */
  parentItemId: string | null;
  /** steps of this room that were lost because its sampler worker died (two in a row quarantine it) */
  crashes: number;
  /** cluster: this engine's lease on the room (its writes are fenced by it); null on a single engine */
  lease: Lease | null;
}

/** Cluster ownership as the manager needs it: take a new room's lease; hear of a room lost to another engine. */
export interface Ownership {
  acquire(roomId: string): Promise<Lease | null>;
  lost(roomId: string): void;
}

export interface CreateRoomInput {
  name?: string;
  packId?: string;
  author: string;
  conditions?: { target: RoomCondition['target']; weight?: number }[];
  params?: Partial<SamplerParams>;
  /** start from this code (remix, fork, mix) */
  h0?: Float32Array;
  /** start from an uploaded image: h₀ = E(x) (PNG bytes, any size; resized to the pack's) */
  imagePng?: Uint8Array;
  running?: boolean;
  /** a remix: the mask strokes and the inpainting context (which frame, its pixels) of the recipe */
  strokes?: MaskStroke[];
  context?: RoomState['context'];
  contextPng?: Uint8Array | null;
  /** the gallery item this room remixes (its lineage, kept on the room) */
  parentItemId?: string | null;
  /** the frame to show before the first step (a remix opens on the saved frame); default: G(h₀) when h₀ is given */
  firstFrame?: Uint8Array;
}

const HISTORY_EVERY = 5;
const BLOBS_KEPT = 16;
const HISTORY_LENGTH = 240;
const ACTIVITY_KEPT = 50;
const CHECKPOINT_MS = 2000;
/** how long an owner's kick or grant waits for the database before it is acknowledged anyway (the write keeps retrying) */
const ACCESS_WAIT_MS = 3000;
/** a room in flight when its worker died this many times in a row is quarantined (it may be the cause) */
const CRASHES_QUARANTINE = 2;
const COLORS = ['#ff6b6b', '#ffa94d', '#ffd43b', '#69db7c', '#38d9a9', '#4dabf7', '#748ffc', '#da77f2', '#f783ac'];

export class RoomManager {
  readonly rooms = new Map<string, LiveRoom>();
  private lock: Promise<unknown> = Promise.resolve();
  private loop: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  /** stop() was called: no more steering (stays true, unlike `stopped`, which is also the state before start) */
  private stopping = false;
  private lastCheckpoint = 0;
  /** rooms whose chain restart (new seed) is queued: not stepped until it is done */
  private readonly resetting = new Set<string>();
  /** exposed for the benchmark / health */
  stats = { ticks: 0, lastTickMs: 0, framesOut: 0 };
  /** cluster mode: rooms are leased (set by the cluster before start) */
  ownership: Ownership | null = null;
  /**
   * Rooms stepped per tick and sampler worker. Small on CPU backends, where batching gains little
   * (≈1.1× for 8 rooms on wasm) and a big batch makes a steered room wait for everyone's step;
   * large on GPU backends, where one batched call costs about what one room does.
   */
  maxBatch = Infinity;
  /**
   * Back-pressure: a room whose changes the database has not taken (an outage) accepts this many more, then
   * refuses steering with "unavailable" until the backlog drains — acknowledged changes never pile up unbounded.
   */
  maxUnsaved = 1000;

  constructor(
    private readonly packs: Map<string, Pack>,
    /** where chains live and are stepped; the manager closes it on stop() */
    readonly sampler: Sampler,
    private readonly store: RoomStore,
    private readonly events: RoomEvents,
    private readonly log: (line: string) => void = () => {},
    /** a room with nobody connected stops sampling this long after the last client left */
    private readonly idleMs = 60_000,
    /** someone whose connection dropped stays a member this long, so a reconnect resumes their place */
    private readonly graceMs = 30_000,
    /** how long stop() waits for each room's pending writes */
    private readonly drainMs = 5_000,
  ) {}

  /** Changes acknowledged to people but not yet in Postgres (the database is slow or down). */
  unsaved(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.writer.backlog;
    return n;
  }

  get defaultPackId(): string {
    const first = this.packs.keys().next().value;
    if (!first) throw new RoomError('no model pack is loaded');
    return first;
  }

  /** What this engine carries: rooms loaded, rooms sampling (running), and those per sampler worker. */
  load(): { rooms: number; chains: number; load: number } {
    const chains = this.running();
    return { rooms: this.rooms.size, chains, load: chains / Math.max(1, this.sampler.workers) };
  }

  running(): number {
    let n = 0;
    for (const r of this.rooms.values()) if (r.model.state.running) n++;
    return n;
  }

  /** Run `fn` with no sampler step in flight (chains are only touched inside). */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Load every stored room and resume the ones that were running. */
  async resume(): Promise<number> {
    const stored = await this.store.all();
    for (const s of stored) {
      const pack = this.packs.get(s.state.packId);
      if (!pack) {
        this.log(`room ${s.state.id}: pack "${s.state.packId}" is not loaded; the room stays stored but offline`);
        continue;
      }
      try {
        // nobody is connected after a restart: the room waits, unsampled, for someone to join
        this.rooms.set(s.state.id, { ...(await this.live(s, pack)), emptySince: -Infinity });
      } catch (err) {
        this.log(`room ${s.state.id}: could not resume (${(err as Error).message})`);
      }
    }
    return this.rooms.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.tick();
      } catch (err) {
        if (!this.stopped) this.log(`sampling tick failed: ${(err as Error).stack ?? err}`);
      }
      if (this.stopped) return;
      this.loop = setTimeout(tick, this.delayToNext());
    };
    this.loop = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.loop) clearTimeout(this.loop);
    for (const room of this.rooms.values()) clearLeaveTimers(room);
    // workers stop at once: a step in flight is dropped, and its rooms keep the last step received
    await this.sampler.close();
    await this.exclusive(async () => {});
    await this.checkpointAll(true);
    // the database may be down: give the backlog a bounded time, then say what could not be written
    const drained = await Promise.all([...this.rooms.values()].map((r) => r.writer.drain(this.drainMs)));
    const lost = drained.filter((ok) => !ok).length;
    if (lost) this.log(`${lost} room(s) still had changes the database did not take when the engine stopped`);
    for (const r of this.rooms.values()) r.writer.close();
  }

  // ------------------------------------------------------------------ rooms

  async create(input: CreateRoomInput): Promise<{ id: string; tokens: RoomTokens; state: RoomState }> {
    const packId = input.packId ?? this.defaultPackId;
    const pack = this.packs.get(packId);
    if (!pack) throw new RoomError(`unknown pack "${packId}" (loaded: ${[...this.packs.keys()].join(', ')})`);
    const id = newId();
    const name = (input.name ?? '').trim() || `Room ${id.slice(0, 4)}`;
    if (name.length > LIMITS.roomNameLength)
      throw new RoomError(`room names are at most ${LIMITS.roomNameLength} characters`);
    const conds = input.conditions ?? [];
    if (conds.length > LIMITS.conditions) throw new RoomError(`a room has at most ${LIMITS.conditions} conditions`);
    // the pack's tuned ε (its class defaults) first, then what the creator asked for
    const state = newRoomState(id, name, packId, { ...packParams(pack), ...input.params });
    if (input.running === false) state.running = false;
    await this.checkPictures(
      packId,
      conds.map((c) => c.target),
    );
    state.conditions = conds.map((c, i) => {
      const err = this.validateTarget(pack, c.target);
      if (err) throw new RoomError(err);
      return { id: `c${i + 1}`, target: c.target, weight: c.weight ?? 1, enabled: true, author: input.author };
    });
    if ((input.strokes?.length ?? 0) > LIMITS.strokes)
      throw new RoomError(`a room has at most ${LIMITS.strokes} mask strokes`);
    state.strokes = input.strokes ? structuredClone(input.strokes) : [];
    state.context = input.contextPng && input.context ? { ...input.context } : null;
    const tokens = { owner: newToken(), editor: newToken(), viewer: newToken() };
    const h0 = input.imagePng ? await this.encodeUpload(packId, input.imagePng) : input.h0;
    const contextPng = state.context ? (input.contextPng ?? null) : null;
    const stored: StoredRoom = {
      state,
      step: 0,
      h: h0 ?? null,
      contextPng,
      tokens,
      roles: {},
      banned: [],
      parentItemId: input.parentItemId ?? null,
    };
    const live = await this.live(stored, pack);
    try {
      if (state.context && !live.contextImage) throw new RoomError("the recipe's context image does not fit this pack");
      if (h0) {
        // the room opens on its starting picture, also while paused (a remix: the saved frame itself)
        const image = input.firstFrame ?? (await this.renderPng(live, live.chain.h));
        live.lastFrame = {
          roomId: id,
          step: 0,
          version: live.model.version,
          image,
          scores: {},
          conditionScores: {},
          hNorm: norm(live.chain.h),
          at: Date.now(),
        };
      }
      await this.store.create({ ...stored, h: live.chain.h });
      if (this.ownership) {
        live.lease = await this.ownership.acquire(id);
        if (!live.lease)
          throw new RoomError('the new room could not be leased to this engine; try again', 'unavailable');
      }
    } catch (err) {
      await this.sampler.drop(id).catch(() => {});
      throw err;
    }
    this.rooms.set(id, live);
    return { id, tokens, state: live.model.snapshot() };
  }

  get(id: string): LiveRoom {
    const r = this.rooms.get(id);
    if (!r) throw new RoomError(`no room "${id}"`);
    return r;
  }

  /** Cluster: load a stored room this engine just leased (its last checkpoint), ready to sample. */
  async adopt(roomId: string, lease: Lease): Promise<LiveRoom | null> {
    const have = this.rooms.get(roomId);
    if (have) {
      have.lease = lease;
      return have;
    }
    const s = await this.store.load(roomId);
    if (!s) return null;
    const pack = this.packs.get(s.state.packId);
    if (!pack)
      throw new RoomError(
        `room ${roomId} needs pack "${s.state.packId}", which this engine has not loaded`,
        'unavailable',
      );
    const raced = this.rooms.get(roomId);
    if (raced) return raced;
    // its people are on their way back (they rejoin): like any room just loaded, it samples as if
    // someone had just left (emptySince = now), and stops after the idle time if nobody comes
    const live = await this.live(s, pack);
    live.lease = lease;
    this.rooms.set(roomId, live);
    return live;
  }

  /** Cluster: another engine owns the room now. Drop it here without writing anything more. */
  async evict(roomId: string): Promise<void> {
    const room = this.detach(roomId);
    if (!room) return;
    room.writer.close();
    await this.exclusive(() => this.sampler.drop(roomId)).catch(() => {});
  }

  /** Cluster drain: stop sampling a room, write its last checkpoint and changes, and let it go. */
  async release(roomId: string): Promise<boolean> {
    const room = this.detach(roomId);
    if (!room) return true;
    await this.exclusive(async () => {
      room.writer.checkpoint(room.chain.step, Float32Array.from(room.chain.h));
      await this.sampler.drop(roomId).catch(() => {});
    });
    const saved = await room.writer.drain(this.drainMs);
    room.writer.close();
    return saved;
  }

  /** Take a room out of this engine's rooms (its members' leave timers stopped); undefined if not here. */
  private detach(roomId: string): LiveRoom | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    this.rooms.delete(roomId);
    clearLeaveTimers(room);
    return room;
  }

  /** The role a link's token grants (HTTP callers have a token, not a user id). */
  tokenRole(room: LiveRoom, token: string): Role | null {
    return token === room.tokens.owner
      ? 'owner'
      : token === room.tokens.editor
        ? 'editor'
        : token === room.tokens.viewer
          ? 'viewer'
          : null;
  }

  /**
   * The role of a person (the id their credential proves) holding a link's token: null when the
   * token is not the room's or the owner removed them. An owner's grant outranks an editor or viewer link.
   */
  roleFor(room: LiveRoom, token: string, personId: string | null): Role | null {
    if (personId !== null && room.banned.has(personId)) return null;
    const base = this.tokenRole(room, token);
    const grant = personId !== null ? room.roles[personId] : undefined;
    // a grant holds with a link the owner has since replaced (people in the room keep their place)
    if (!base) return grant ?? null;
    if (base === 'owner') return 'owner';
    return grant ?? base;
  }

  /**
   * The owner replaces the editor and viewer links (e.g. after removing someone who still has one): the old
   * links admit no one new; everyone in the room now keeps their role as a grant to their person.
   */
  async replaceLinks(room: LiveRoom, actor: Actor): Promise<RoomTokens> {
    if (actor.role !== 'owner') throw new RoomError('only the owner can replace the room’s links', 'forbidden');
    for (const m of room.members.values())
      if (m.role !== 'owner' && !room.banned.has(m.userId) && room.roles[m.userId] === undefined)
        room.roles[m.userId] = m.role;
    room.tokens = { ...room.tokens, editor: newToken(), viewer: newToken() };
    await this.persistAccess(room, { roles: { ...room.roles }, tokens: room.tokens });
    return room.tokens;
  }

  /**
   * Reference pictures are decoded in a sampler worker, never on this thread (a PNG may declare up to 8× the
   * pack's side): each one is checked there before the change that carries it is applied, and remembered by its
   * hash, so the model's own check (kind, layer, the rest of the state) runs on placeholders.
   */
  private readonly checkedPictures = new Set<string>();

  private async checkPictures(packId: string, targets: RoomCondition['target'][]): Promise<void> {
    for (const t of targets) {
      if (t.kind !== 'image') continue;
      const ref = pictureRef(t.png);
      if (this.checkedPictures.has(ref)) continue;
      const problem = await this.sampler.checkPicture(packId, t.png);
      if (problem) throw new RoomError(problem);
      if (this.checkedPictures.size >= 1000) this.checkedPictures.delete(this.checkedPictures.values().next().value!);
      this.checkedPictures.add(ref);
    }
  }

  validateTarget(pack: Pack, target: RoomCondition['target']): string | null {
    try {
      const placeholder = target.kind === 'image' && this.checkedPictures.has(pictureRef(target.png));
      const c = new Condition([termOf({ id: 'x', target, weight: 1, enabled: true, author: '' }, pack, placeholder)]);
      resolveCondition(pack, c, () => new Float32Array(0));
      return null;
    } catch (err) {
      if (err instanceof PpgnInputError) return err.message;
      throw err;
    }
  }

  /** Apply a client intent: validate, apply, version, persist, broadcast, update the chain. */
  async intent(roomId: string, actor: Actor, intent: Intent): Promise<RoomPatch | null> {
    const room = this.get(roomId);
    if ((intent.type === 'condition.add' || intent.type === 'condition.update') && intent.target)
      await this.checkPictures(room.model.state.packId, [intent.target]);
    if (room.writer.backlog > this.maxUnsaved)
      throw new RoomError(
        `the database has not taken this room's last ${room.writer.backlog} changes yet; steering is paused until it does (try again in a moment)`,
        'unavailable',
      );
    // "use the current frame" reads the chain's pixels: it waits until no step is in flight
    if (intent.type === 'mask.context' && intent.useCurrentFrame) {
      return this.exclusive(async () => {
        this.assertRunning();
        const frame = await this.sampler.frameImage(roomId);
        return this.applyIntent(room, actor, intent, this.keepBlob(room, frame.png));
      });
    }
    // Everything else applies at once, also while a step is in flight: the sampler takes calls in
    // order (its queue), so the chain update lands after that step and before the next, and frames
    // carry the version their step was sent under. The ack (and everyone's patch) does not wait for
    // the sampler.
    this.assertRunning();
    return this.applyIntent(room, actor, intent, undefined);
  }

  private async applyIntent(
    room: LiveRoom,
    actor: Actor,
    intent: Intent,
    frameHash: string | undefined,
  ): Promise<RoomPatch> {
    const roomId = room.model.state.id;
    const { patch, summary, effects } = room.model.apply(intent, actor, room.chain.step, frameHash);
    const state = room.model.state;
    const changed = patchKeys(patch);
    let contextPng: Uint8Array | null | undefined;
    if (changed.includes('context')) {
      // the context follows the versioned state: set, removed, or brought back by undo/redo
      const blob = state.context?.hash ? room.blobs.get(state.context.hash) : undefined;
      if (state.context && !blob)
        this.log(
          `room ${roomId}: context pixels ${state.context.hash ?? '(no hash)'} are not kept; the context stays as it was`,
        );
      else {
        contextPng = blob ?? null;
        room.contextImage = blob ? this.decodeContext(room.pack, blob) : null;
      }
    }
    if (effects.step) room.pendingSteps = Math.min(LIMITS.stepsPerRequest, room.pendingSteps + effects.step);
    const chainChanged = (['conditions', 'params', 'strokes', 'context'] as const).some((k) => changed.includes(k));
    // sent now, in version order (not awaited: the sampler applies calls in the order they were made)
    const synced = effects.reset ? null : chainChanged ? this.syncChain(room) : null;
    synced?.catch((err) => this.log(`room ${roomId}: updating its chain failed (${(err as Error).message})`));
    // a quarantined chain gets another chance once someone changes what it samples
    if ((chainChanged || effects.reset) && room.chainError !== null) this.setChainError(room, null);
    // steering shows up in the very next frame, not one frame period later
    if (chainChanged || effects.reset) room.nextDue = Math.min(room.nextDue, Date.now());
    const item = this.activityItem(room, patch.version, actor, summary);
    this.persist(
      room,
      { author: actor.userId, kind: intent.type, payload: { intent: loggedIntent(intent), summary } },
      { contextPng },
    );
    this.events.patch(roomId, patch); // every version, even an empty one, so clients stay in step
    this.events.activity(roomId, item);
    // a new seed (or undoing one) restarts the chain: after the step in flight, before the next
    if (changed.includes('start') && state.start) {
      // undo / redo of a start picture: the chain goes back to (or forward to) that code
      const code = room.codes.get(state.start.ref);
      if (!code)
        this.log(`room ${roomId}: the code of ${state.start.label} is no longer kept; the chain stays where it is`);
      else
        await this.exclusive(async () => {
          await this.setCode(roomId, code);
          room.history = [{ step: room.chain.step, h: Float32Array.from(code) }];
          room.checkpointedStep = -1;
          room.nextDue = Date.now();
          this.showStill(room, await this.renderPng(room, code), patch.version, room.lastFrame ?? {});
        });
    }
    if (effects.reset) {
      this.resetting.add(roomId);
      try {
        await this.exclusive(async () => {
          await this.resetChain(room);
          // a paused room shows its new start at once (it would otherwise wait for Play or Step)
          if (!room.model.state.running)
            this.showStill(room, await this.renderPng(room, room.chain.h), room.model.version, {});
        });
      } finally {
        this.resetting.delete(roomId);
      }
    }
    return patch;
  }

  /** A picture of the chain as it stands (a new start), sent to everyone now: reliable, it is not followed by more. */
  private showStill(
    room: LiveRoom,
    image: Uint8Array,
    version: number,
    scores: Partial<Pick<Frame, 'scores' | 'conditionScores'>>,
  ) {
    const frame: Frame = {
      roomId: room.model.state.id,
      step: room.chain.step,
      version,
      image,
      scores: scores.scores ?? {},
      conditionScores: scores.conditionScores ?? {},
      hNorm: norm(room.chain.h),
      at: Date.now(),
    };
    room.lastFrame = frame;
    this.events.frame(room.model.state.id, frame, true);
    return frame;
  }

  /** Restart a room's chain from an uploaded image (h₀ = E(x)); a versioned, logged change. */
  async startFromImage(roomId: string, actor: Actor, png: Uint8Array): Promise<RoomPatch> {
    const room = this.get(roomId);
    if (actor.role === 'viewer') throw new RoomError('viewers cannot steer this room');
    if (room.model.state.locked && actor.role !== 'owner') throw new RoomError('the room is locked by its owner');
    const h = await this.encodeUpload(room.model.state.packId, png);
    return this.exclusive(async () => {
      this.assertRunning();
      // a versioned change on the person's undo stack: undo takes the chain back to where it was just before
      const before: RoomStart = {
        ref: this.keepCode(room, room.chain.h),
        setBy: actor.userId,
        label: 'the chain before the upload',
      };
      const next: RoomStart = { ref: this.keepCode(room, h), setBy: actor.userId, label: 'an uploaded image' };
      const { patch, summary } = room.model.startFrom(actor, next, before);
      await this.setCode(roomId, h);
      room.history = [{ step: room.chain.step, h: Float32Array.from(h) }];
      room.nextDue = Date.now();
      // show the new starting picture now, also in a paused room (it would otherwise wait for Play or Step)
      const image = await this.renderPng(room, h);
      const item = this.activityItem(room, patch.version, actor, summary);
      this.persist(room, { author: actor.userId, kind: 'chain.image', payload: { summary: item.summary } }, {});
      room.checkpointedStep = -1;
      this.events.patch(roomId, patch);
      this.events.activity(roomId, item);
      // reliable: right after the patch the transport is busy, and a volatile frame would be dropped
      this.showStill(room, image, patch.version, room.lastFrame ?? {});
      return patch;
    });
  }

  /** Steering that arrives while the engine shuts down is refused before anything changes. */
  private assertRunning() {
    if (this.stopping) throw new RoomError('the engine is shutting down; try again in a moment', 'unavailable');
  }

  /** Replace a room's code (not validated: the sampler throws on a bad one, which tests use to break a chain). */
  async setCode(roomId: string, h: Float32Array): Promise<void> {
    const room = this.get(roomId);
    await this.sampler.setCode(roomId, h);
    room.chain.h = Float32Array.from(h);
  }

  /** h = E(x) of an uploaded start image: decoded, resized and encoded in a sampler worker. */
  private async encodeUpload(packId: string, png: Uint8Array): Promise<Float32Array> {
    if (png.byteLength > LIMITS.uploadBytes)
      throw new PngTooLargeError(`images are at most ${LIMITS.uploadBytes / 1e6} MB`);
    return this.sampler.encodeUpload(packId, png, LIMITS.uploadBytes);
  }

  // ------------------------------------------------------------------ presence

  /** A connection (`socketId`) of a person joins, or rejoins: one member per person, however many connections. */
  join(room: LiveRoom, userId: string, name: string, role: Role, socketId: string): Member {
    if (room.emptySince !== null && this.idle(room, Date.now())) room.nextDue = Date.now();
    room.emptySince = null;
    let m = room.members.get(userId);
    if (m) {
      if (m.leaveTimer) clearTimeout(m.leaveTimer);
      m.leaveTimer = null;
      m.sockets.add(socketId);
      m.name = name;
      m.role = role;
    } else {
      m = {
        userId,
        name,
        role,
        color: COLORS[room.members.size % COLORS.length]!,
        cursor: null,
        painting: false,
        following: null,
        viewing: null,
        sockets: new Set([socketId]),
        leaveTimer: null,
      };
      room.members.set(userId, m);
    }
    this.emitMembers(room);
    return m;
  }

  /**
   * A connection of a person closed. `left`: they meant it (closed the room), so their last
   * connection removes them at once; otherwise (a dropped transport) they stay, shown as away, for
   * the grace period, and a reconnect within it resumes their membership and presence.
   */
  disconnect(room: LiveRoom, userId: string, socketId: string, left: boolean): void {
    const m = room.members.get(userId);
    if (!m || !m.sockets.delete(socketId)) return;
    if (m.sockets.size === 0) {
      if (left || this.graceMs <= 0) room.members.delete(userId);
      else {
        m.cursor = null;
        m.painting = false;
        m.leaveTimer = setTimeout(() => {
          m.leaveTimer = null;
          if (room.members.get(userId) !== m || m.sockets.size > 0) return;
          room.members.delete(userId);
          this.emitMembers(room);
        }, this.graceMs);
        m.leaveTimer.unref?.();
      }
    }
    if (![...room.members.values()].some((x) => x.sockets.size > 0)) room.emptySince = Date.now();
    this.emitMembers(room);
  }

  presence(room: LiveRoom, userId: string, p: PresenceUpdate): void {
    const m = room.members.get(userId);
    if (!m) return;
    if (p.cursor !== undefined) m.cursor = p.cursor;
    if (p.painting !== undefined) m.painting = p.painting;
    if (p.following !== undefined) m.following = p.following && room.members.has(p.following) ? p.following : null;
    if (p.viewing !== undefined) m.viewing = p.viewing;
    if (p.name !== undefined) m.name = p.name;
    this.emitMembers(room, p.name === undefined);
  }

  members(room: LiveRoom): Member[] {
    return [...room.members.values()].map(({ sockets, leaveTimer: _t, ...m }) =>
      sockets.size === 0 ? { ...m, away: true } : m,
    );
  }

  /** Owner actions: kick (and refuse rejoin), change a user's role. */
  async admin(
    room: LiveRoom,
    actor: Actor,
    action: { type: 'kick'; userId: string } | { type: 'role'; userId: string; role: Role },
  ) {
    if (actor.role !== 'owner') throw new RoomError('only the owner can manage people');
    if (action.userId === actor.userId) throw new RoomError('you cannot do that to yourself');
    if (action.type === 'kick') {
      room.banned.add(action.userId);
      const m = room.members.get(action.userId);
      if (m?.leaveTimer) clearTimeout(m.leaveTimer);
      room.members.delete(action.userId);
      if (![...room.members.values()].some((x) => x.sockets.size > 0)) room.emptySince = Date.now();
      // stored before the owner's ack: a ban survives a crash right after it
      await this.persistAccess(room, { banned: [...room.banned] });
      this.events.kicked(room.model.state.id, action.userId, `removed by ${actor.name}`);
      this.emitMembers(room);
      return;
    }
    if (action.role === 'owner') throw new RoomError('ownership cannot be handed over; share the owner link instead');
    room.roles[action.userId] = action.role;
    const m = room.members.get(action.userId);
    if (m) m.role = action.role;
    await this.persistAccess(room, { roles: { ...room.roles } });
    this.events.role(room.model.state.id, action.userId, action.role);
    this.emitMembers(room);
  }

  private emitMembers(room: LiveRoom, presenceOnly = false) {
    this.events.members(room.model.state.id, this.members(room), presenceOnly);
  }

  // ------------------------------------------------------------------ history, fork, export

  historySteps(room: LiveRoom): number[] {
    return room.history.map((e) => e.step);
  }

  codeAt(room: LiveRoom, step?: number): { step: number; h: Float32Array } {
    if (step === undefined || step === room.chain.step)
      return { step: room.chain.step, h: Float32Array.from(room.chain.h) };
    const e = room.history.find((x) => x.step === step);
    if (!e)
      throw new RoomError(
        `step ${step} is not in the kept history (kept: every ${HISTORY_EVERY} steps, last ${HISTORY_LENGTH})`,
      );
    return { step: e.step, h: Float32Array.from(e.h) };
  }

  /** G(h) as PNG, rendered and encoded by the room's sampler. */
  async renderPng(room: LiveRoom, h: Float32Array): Promise<Buffer> {
    return asBuffer(await this.sampler.renderPng(room.model.state.packId, h, room.model.state.id));
  }

  /** G(h) of any pack as PNG (gallery mixes). */
  async renderStandalone(pack: Pack, h: Float32Array): Promise<Buffer> {
    const packId = [...this.packs].find(([, p]) => p === pack)?.[0];
    if (!packId) throw new RoomError('that pack is not loaded');
    return asBuffer(await this.sampler.renderPng(packId, h));
  }

  /** an animated GIF of the kept history (at most its last `frames` entries), made in a sampler worker */
  exportGif(room: LiveRoom, frames = 120): Promise<Uint8Array> {
    const kept = room.history.slice(-frames);
    if (kept.length === 0) throw new RoomError('no history kept yet; let the chain run a few steps', 'conflict');
    return this.sampler.exportGif(
      room.model.state.packId,
      kept.map((e) => e.h),
      { scale: 4, delayMs: 100 },
    );
  }

  // ------------------------------------------------------------------ sampling

  /** Nobody has been connected for idleMs: the room keeps its state but is not sampled. */
  idle(room: LiveRoom, now = Date.now()): boolean {
    return room.emptySince !== null && now - room.emptySince >= this.idleMs;
  }

  /** Sampled on ticks: not idle and not quarantined. */
  private active(room: LiveRoom, now: number): boolean {
    // cluster: a room whose lease this engine could not renew in time is left alone (another may adopt it)
    if (room.lease && now > room.lease.until) return false;
    return room.chainError === null && !this.idle(room, now);
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

  /**
   * One tick: every due room advances one step in the sampler (rooms of one worker and pack in one batched
   * call, workers in parallel; frames are rendered and PNG-encoded there). A room whose chain throws is
   * quarantined (marked, announced, no longer sampled); the others advance.
   */
  async tick(now = Date.now()): Promise<number> {
    let due: LiveRoom[] = [];
    for (const r of this.rooms.values()) {
      if (!this.active(r, now) || this.resetting.has(r.model.state.id)) continue;
      if (r.pendingSteps > 0 || (r.model.state.running && now >= r.nextDue)) due.push(r);
    }
    if (due.length > this.maxBatch) {
      // at most maxBatch rooms per worker, so that every worker gets work and no steered room waits for a
      // big batch: rooms changed since their last frame (or asked for steps) first, then the most overdue
      const urgent = (r: LiveRoom) => r.pendingSteps > 0 || !r.lastFrame || r.model.version > r.lastFrame.version;
      const byWorker = new Map<number, LiveRoom[]>();
      for (const r of due) {
        const w = this.sampler.workerOf(r.model.state.id) ?? 0;
        const rooms = byWorker.get(w);
        if (rooms) rooms.push(r);
        else byWorker.set(w, [r]);
      }
      due = [...byWorker.values()].flatMap((rooms) =>
        rooms
          .map((r) => ({ r, u: urgent(r) ? 0 : 1 }))
          .sort((a, b) => a.u - b.u || a.r.nextDue - b.r.nextDue)
          .slice(0, this.maxBatch)
          .map((x) => x.r),
      );
    }
    if (due.length === 0) {
      if (now - this.lastCheckpoint > CHECKPOINT_MS) await this.checkpointAll(false);
      return 0;
    }
    const t0 = performance.now();
    const frames: Frame[] = [];
    await this.exclusive(async () => {
      // the version each room's step is sent under (steering applied meanwhile shows in the next frame)
      const versions = new Map(due.map((r) => [r.model.state.id, r.model.version]));
      const results = await this.sampler.step(due.map((r) => r.model.state.id));
      for (const res of results) {
        const room = this.rooms.get(res.roomId);
        if (!room) continue;
        if (!res.ok) {
          if ('retry' in res) continue; // its worker is being restarted: next tick
          if ('crashed' in res) {
            room.crashes += 1;
            this.log(`room ${res.roomId}: step lost (${res.error})`);
            if (room.crashes >= CRASHES_QUARANTINE)
              this.quarantine(room, new Error(`its sampler worker stopped ${room.crashes} times while stepping it`));
          } else this.quarantine(room, new Error(res.error));
          continue;
        }
        room.crashes = 0;
        if (room.pendingSteps > 0) room.pendingSteps -= 1;
        const period = 1000 / room.model.state.params.fps;
        room.nextDue = Math.max(room.nextDue + period, now);
        room.chain.step = res.step;
        room.chain.h = res.h;
        room.chain.rng = res.rng;
        if (res.step % HISTORY_EVERY === 0) {
          room.history.push({ step: res.step, h: Float32Array.from(res.h) });
          if (room.history.length > HISTORY_LENGTH) room.history.shift();
        }
        if (res.png.byteLength > 0) {
          frames.push({
            roomId: res.roomId,
            step: res.step,
            version: versions.get(res.roomId) ?? room.model.version,
            image: asBuffer(res.png),
            scores: res.scores,
            conditionScores: res.conditionScores,
            hNorm: res.hNorm,
            at: Date.now(),
          });
        }
      }
    });
    for (const frame of frames) {
      const room = this.rooms.get(frame.roomId)!;
      room.lastFrame = frame;
      this.events.frame(frame.roomId, frame);
      this.stats.framesOut += 1;
    }
    this.stats.ticks += 1;
    this.stats.lastTickMs = performance.now() - t0;
    if (now - this.lastCheckpoint > CHECKPOINT_MS) await this.checkpointAll(false);
    return due.length;
  }

  /** What the sampler needs to (re)build a room's chain: its steering and context frame. */
  private spec(room: LiveRoom): ChainSpec {
    const { conditions, params, strokes, context } = room.model.state;
    return { state: { conditions, params, strokes, context }, contextImage: room.contextImage };
  }

  /** A room's chain as the main thread last saw it (a restarted sampler worker re-opens it from here). */
  restoreChain(roomId: string): OpenChain | null {
    const room = this.rooms.get(roomId);
    if (!room) return null;
    const s = room.model.state;
    return {
      roomId,
      packId: s.packId,
      spec: this.spec(room),
      seed: s.params.seed,
      step: room.chain.step,
      h0: room.chain.h,
      rng: room.chain.rng,
    };
  }

  private quarantine(room: LiveRoom, err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    this.log(`room ${room.model.state.id}: chain failed and is paused (${why})`);
    this.setChainError(
      room,
      `the sampler failed on this room and paused it: ${why.split('\n')[0]}; change a condition or the parameters, or reset, to try again`,
    );
  }

  private setChainError(room: LiveRoom, error: string | null) {
    room.chainError = error;
    room.nextDue = Date.now();
    this.events.chainError(room.model.state.id, error);
  }

  /** Keep a code the chain was started from; returns its reference (the newest BLOBS_KEPT per room). */
  private keepCode(room: LiveRoom, h: Float32Array): string {
    const ref = `code:${createHash('sha256')
      .update(new Uint8Array(h.buffer, h.byteOffset, h.byteLength))
      .digest('hex')
      .slice(0, 24)}`;
    room.codes.delete(ref);
    room.codes.set(ref, Float32Array.from(h));
    while (room.codes.size > BLOBS_KEPT) room.codes.delete(room.codes.keys().next().value!);
    return ref;
  }

  /** Keep a context image by content hash (the newest BLOBS_KEPT per room: what undo can reach). */
  private keepBlob(room: LiveRoom, png: Uint8Array): string {
    const hash = blobHash(png);
    room.blobs.delete(hash);
    room.blobs.set(hash, png);
    while (room.blobs.size > BLOBS_KEPT) room.blobs.delete(room.blobs.keys().next().value!);
    return hash;
  }

  private decodeContext(pack: Pack, png: Uint8Array): Float32Array | null {
    const [H, W, C] = pack.imageShape;
    const img = decodePng(png, C as 1 | 3, pack.manifest.image.range, packImageLimits(pack.imageShape));
    return img.shape[0] === H && img.shape[1] === W ? img.data : null;
  }

  /** The room's inpainting context image as PNG (null: none): the very bytes its state refers to. */
  contextPng(room: LiveRoom): Uint8Array | null {
    const hash = room.model.state.context?.hash;
    return room.contextImage && hash ? (room.blobs.get(hash) ?? null) : null;
  }

  private async checkpointAll(force: boolean) {
    this.lastCheckpoint = Date.now();
    for (const room of this.rooms.values()) {
      if (!force && room.checkpointedStep === room.chain.step) continue;
      const step = room.chain.step;
      const h = Float32Array.from(room.chain.h);
      room.checkpointedStep = step;
      room.writer.checkpoint(step, h);
    }
  }

  private persist(
    room: LiveRoom,
    activity: { author: string; kind: string; payload: object } | null,
    extra: { contextPng?: Uint8Array | null },
  ) {
    room.writer.state(room.model.snapshot(), activity, extra);
  }

  /**
   * Role grants and removals go through the room's write-behind like everything else (in order,
   * retried while the database is down). The owner's ack waits until they are stored, so a ban
   * survives a crash right after it, except while the database is down: then the ack comes after
   * ACCESS_WAIT_MS and the write keeps being retried (the ban holds in this engine meanwhile).
   */
  private async persistAccess(room: LiveRoom, access: RoomAccess): Promise<void> {
    room.writer.access(access);
    const stored = await room.writer.drain(ACCESS_WAIT_MS);
    if (!stored)
      this.log(`room ${room.model.state.id}: who may use the room is not stored yet (database unavailable); retrying`);
  }

  private activityItem(room: LiveRoom, version: number, actor: Actor, summary: string): ActivityItem {
    const item: ActivityItem = { version, author: actor.userId, authorName: actor.name, summary, at: Date.now() };
    room.activity.push(item);
    if (room.activity.length > ACTIVITY_KEPT) room.activity.shift();
    return item;
  }

  private async syncChain(room: LiveRoom) {
    await this.sampler.update(room.model.state.id, this.spec(room));
  }

  private async resetChain(room: LiveRoom) {
    const pos = await this.sampler.reset(room.model.state.id, this.spec(room));
    room.chain = { id: room.chain.id, step: pos.step, h: pos.h, rng: pos.rng };
    room.history = [];
  }

  private async live(s: StoredRoom, pack: Pack): Promise<LiveRoom> {
    const contextImage = s.contextPng ? this.decodeContext(pack, s.contextPng) : null;
    const blobs = new Map<string, Uint8Array>();
    if (s.contextPng && contextImage) {
      const hash = blobHash(s.contextPng);
      blobs.set(hash, s.contextPng);
      // rooms from before context hashes: name the pixels they have
      if (s.state.context && !s.state.context.hash) s.state.context.hash = hash;
    }
    const model = new RoomModel(
      s.state,
      (t) => this.validateTarget(pack, t),
      (state) => samplingProblem(state, pack),
    );
    const { conditions, params, strokes, context } = s.state;
    const open = (spec: ChainSpec) =>
      this.sampler.open({
        roomId: s.state.id,
        packId: s.state.packId,
        spec,
        seed: (s.state.params.seed + s.step) % 2 ** 31,
        step: s.step,
        h0: s.h && s.h.length === pack.codeDim ? s.h : null,
      });
    // a stored state the sampler refuses (saved before a check existed, or by an older engine) still opens: the
    // room loads with its state and people, its chain paused with the reason until someone changes what it samples
    let broken: string | null = null;
    let pos: Awaited<ReturnType<typeof open>>;
    try {
      pos = await open({ state: { conditions, params, strokes, context }, contextImage });
    } catch (err) {
      if (!(err instanceof PpgnInputError)) throw err;
      broken = err.message;
      this.log(`room ${s.state.id}: its stored conditions cannot be sampled (${broken}); loaded with its chain paused`);
      pos = await open({
        state: { conditions: [], params: { ...params, mode: 'ppgn' }, strokes: [], context: null },
        contextImage: null,
      });
    }
    const chain: ChainView = { id: s.state.id, step: pos.step, h: pos.h, rng: pos.rng };
    const room: LiveRoom = {
      model,
      pack,
      chain,
      tokens: s.tokens,
      roles: { ...s.roles },
      banned: new Set(s.banned),
      members: new Map(),
      contextImage,
      blobs,
      codes: new Map(),
      lastFrame: null,
      history: [{ step: s.step, h: Float32Array.from(chain.h) }],
      activity: [],
      nextDue: Date.now(),
      pendingSteps: 0,
      checkpointedStep: s.step,
      writer: undefined as unknown as RoomWriter,
      emptySince: Date.now(),
      chainError: broken
        ? `this room's saved conditions cannot be sampled (${broken}): change or remove a condition, or the mode, to go on`
        : null,
      parentItemId: s.parentItemId ?? null,
      crashes: 0,
      lease: null,
    };
    // fenced by the room's own lease (also while a released room writes its last changes)
    room.writer = new RoomWriter(this.store, s.state.id, {
      log: this.log,
      lease: () => room.lease,
      onLost: () => this.ownership?.lost(s.state.id),
    });
    return room;
  }
}

function clearLeaveTimers(room: LiveRoom) {
  for (const m of room.members.values()) if (m.leaveTimer) clearTimeout(m.leaveTimer);
}

const blobHash = (png: Uint8Array) => createHash('sha256').update(png).digest('hex').slice(0, 32);
const norm = (h: Float32Array) => Math.sqrt(h.reduce((a, v) => a + v * v, 0));
/** PNG bytes from the sampler as a Buffer (no copy). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
