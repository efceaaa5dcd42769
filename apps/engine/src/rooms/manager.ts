// The live rooms of this engine: a registry (create, load, adopt, release) and the clock that samples them
// (scheduler.ts). Each room is a Room (room.ts) that owns its state, people, chain mirror and writes; the
// chains themselves live in the sampler (sampling/pool.ts). It knows nothing of sockets: they hear RoomEvents.
import { PpgnInputError, type Pack } from '@ppgn/core';
import {
  LIMITS,
  type RoomCondition,
  type RoomState,
  type MaskStroke,
  type SamplerParams,
  type Tunable,
} from '@ppgn/shared';
import { RoomError } from './errors';
import { RoomModel } from './model';
import { newRoomState } from './defaults';
import { effectiveSettings, overridesOf, packParams, samplingProblem } from '../recipe';
import { Pictures, blobHash, decodeContext } from './pictures';
import { ChainMirror } from './chain';
import { Room, type RoomDeps, type RoomEvents } from './room';
import { Scheduler } from './scheduler';
import type { ChainSpec, OpenChain, Sampler } from '../sampling/protocol';
import { RoomStore, newId, type RoomTokens, type StoredRoom } from './store';
import { newToken } from './access';
import { spillRoom } from './spill';
import { RoomWriter } from './writer';
import type { Lease } from '../cluster/leases';

export type { RoomEvents } from './room';

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
  /** which of `params` are the person's (default: those that differ from a new room's) */
  overrides?: Tunable[];
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
  /** the chain's step count to go on from (a remix: the saved item's step) */
  step?: number;
  /** the frame to show before the first step (a remix opens on the saved frame); default: G(h₀) when h₀ is given */
  firstFrame?: Uint8Array;
}

export class RoomManager {
  readonly rooms = new Map<string, Room>();
  readonly scheduler: Scheduler;
  private lock: Promise<unknown> = Promise.resolve();
  /** stop() was called: no more steering */
  private stopping = false;
  /** cluster mode: rooms are leased (set by the cluster before start) */
  ownership: Ownership | null = null;
  /**
   * Back-pressure: a room whose changes the database has not taken (an outage) accepts this many more, then
   * refuses steering with "unavailable" until the backlog drains — acknowledged changes never pile up unbounded.
   */
  maxUnsaved = 1000;
  /** where changes the database did not take by the end of stop() are kept for the next start (null: dropped) */
  spillDir: string | null = null;
  private readonly deps: RoomDeps;
  /** pictures coming in (checked and encoded in a sampler worker) and G(h) of any code */
  readonly pictures: Pictures;

  constructor(
    private readonly packs: Map<string, Pack>,
    /** where chains live and are stepped; the manager closes it on stop() */
    readonly sampler: Sampler,
    private readonly store: RoomStore,
    events: RoomEvents,
    private readonly log: (line: string) => void = () => {},
    /** a room with nobody connected stops sampling this long after the last client left */
    idleMs = 60_000,
    /** someone whose connection dropped stays a member this long, so a reconnect resumes their place */
    graceMs = 30_000,
    /** how long stop() waits for each room's pending writes */
    private readonly drainMs = 5_000,
  ) {
    this.pictures = new Pictures(sampler);
    const exclusive = <T>(fn: () => Promise<T> | T) => this.exclusive(fn);
    this.deps = {
      sampler,
      events,
      log,
      exclusive,
      assertRunning: () => this.assertRunning(),
      idleMs,
      graceMs,
      checkPictures: (packId, targets) => this.pictures.check(packId, targets),
      maxUnsaved: () => this.maxUnsaved,
      wake: () => this.scheduler.wake(),
    };
    this.scheduler = new Scheduler(this.rooms, sampler, events, exclusive, log);
  }

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

  /** Steering that arrives while the engine shuts down is refused before anything changes. */
  assertRunning(): void {
    if (this.stopping) throw new RoomError('the engine is shutting down; try again in a moment', 'unavailable');
  }

  // ------------------------------------------------------------------ lifecycle

  /** Load every stored room and resume the ones that were running. */
  async resume(): Promise<number> {
    for (const s of await this.store.all()) {
      const pack = this.packs.get(s.state.packId);
      if (!pack) {
        this.log(`room ${s.state.id}: pack "${s.state.packId}" is not loaded; the room stays stored but offline`);
        continue;
      }
      try {
        const room = await this.open(s, pack);
        // nobody is connected after a restart: the room waits, unsampled, for someone to join
        room.emptySince = -Infinity;
        this.rooms.set(s.state.id, room);
      } catch (err) {
        this.log(`room ${s.state.id}: could not resume (${(err as Error).message})`);
      }
    }
    return this.rooms.size;
  }

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
    this.stopping = true;
    for (const room of this.rooms.values()) room.presence.clear();
    // workers stop at once: a step in flight is dropped, and its rooms keep the last step received
    await this.sampler.close();
    await this.exclusive(async () => {});
    this.scheduler.checkpointAll(true);
    // the database may be down: give the backlog a bounded time, then say what could not be written
    const drained = await Promise.all([...this.rooms.values()].map((r) => r.writer.drain(this.drainMs)));
    const undrained = [...this.rooms.values()].filter((_, i) => !drained[i]);
    for (const r of this.rooms.values()) r.writer.close();
    if (!undrained.length) return;
    // kept on disk and replayed at the next start, not dropped
    let kept = 0;
    let changes = 0;
    for (const r of undrained) {
      const w = r.writer.unsaved();
      if (!w || !this.spillDir) continue;
      try {
        spillRoom(this.spillDir, r.id, w);
        kept++;
        changes += w.activity.length;
      } catch (err) {
        this.log(`room ${r.id}: its unsaved changes could not be kept on disk (${(err as Error).message})`);
      }
    }
    this.log(
      `${undrained.length} room(s) still had changes the database did not take when the engine stopped` +
        (kept ? `; ${changes} change(s) of ${kept} room(s) kept in ${this.spillDir} for the next start` : ''),
    );
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
    // what the creator set (a fork, a remix, the API) is theirs; the rest follows the pack's tunings
    state.overrides = input.overrides ?? overridesOf(input.params ?? {}, pack);
    await this.pictures.check(
      packId,
      conds.map((c) => c.target),
    );
    state.conditions = conds.map((c, i) => {
      const err = this.pictures.validateTarget(pack, c.target);
      if (err) throw new RoomError(err);
      return { id: `c${i + 1}`, target: c.target, weight: c.weight ?? 1, enabled: true, author: input.author };
    });
    if ((input.strokes?.length ?? 0) > LIMITS.strokes)
      throw new RoomError(`a room has at most ${LIMITS.strokes} mask strokes`);
    state.strokes = input.strokes ? structuredClone(input.strokes) : [];
    state.context = input.contextPng && input.context ? { ...input.context } : null;
    const tokens = { owner: newToken(), editor: newToken(), viewer: newToken() };
    const h0 = input.imagePng ? await this.pictures.encodeUpload(packId, input.imagePng) : input.h0;
    const stored: StoredRoom = {
      state,
      step: input.step ?? 0,
      h: h0 ?? null,
      contextPng: state.context ? (input.contextPng ?? null) : null,
      tokens,
      roles: {},
      banned: [],
      parentItemId: input.parentItemId ?? null,
    };
    const room = await this.open(stored, pack);
    try {
      if (state.context && !room.contextImage) throw new RoomError("the recipe's context image does not fit this pack");
      if (h0) {
        // the room opens on its starting picture, also while paused (a remix: the saved frame itself)
        const image = input.firstFrame ?? (await room.render(room.chain.h));
        room.still(image, room.model.version);
      }
      await this.store.create({ ...stored, h: room.chain.h });
      if (this.ownership) {
        room.lease = await this.ownership.acquire(id);
        if (!room.lease)
          throw new RoomError('the new room could not be leased to this engine; try again', 'unavailable');
      }
    } catch (err) {
      await this.sampler.drop(id).catch(() => {});
      throw err;
    }
    this.rooms.set(id, room);
    return { id, tokens, state: room.model.snapshot() };
  }

  get(id: string): Room {
    const r = this.rooms.get(id);
    if (!r) throw new RoomError(`no room "${id}"`, 'not_found');
    return r;
  }

  /** Cluster: load a stored room this engine just leased (its last checkpoint), ready to sample. */
  async adopt(roomId: string, lease: Lease): Promise<Room | null> {
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
    const room = await this.open(s, pack);
    room.lease = lease;
    this.rooms.set(roomId, room);
    return room;
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
      room.checkpoint(true);
      await this.sampler.drop(roomId).catch(() => {});
    });
    const saved = await room.writer.drain(this.drainMs);
    room.writer.close();
    return saved;
  }

  /** Take a room out of this engine's rooms (its members' leave timers stopped); undefined if not here. */
  private detach(roomId: string): Room | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    this.rooms.delete(roomId);
    room.presence.clear();
    return room;
  }

  /** A room's chain as the main thread last saw it (a restarted sampler worker re-opens it from here). */
  restoreChain(roomId: string): OpenChain | null {
    return this.rooms.get(roomId)?.restore() ?? null;
  }

  // ------------------------------------------------------------------ opening a stored room

  private async open(s: StoredRoom, pack: Pack): Promise<Room> {
    const contextImage = s.contextPng ? decodeContext(pack, s.contextPng) : null;
    const contextBlob = s.contextPng && contextImage ? { hash: blobHash(s.contextPng), png: s.contextPng } : null;
    // rooms from before context hashes: name the pixels they have
    if (contextBlob && s.state.context && !s.state.context.hash) s.state.context.hash = contextBlob.hash;
    // rooms stored before overrides were kept: the settings that differ from a new room's are the overrides
    if (!s.state.overrides) s.state.overrides = overridesOf(s.state.params, pack);
    const model = new RoomModel(
      s.state,
      (t) => this.pictures.validateTarget(pack, t),
      (state) => samplingProblem(state, pack),
      (state) => ({ effective: effectiveSettings(state, pack) }),
    );
    const { conditions, params, strokes, context, overrides } = s.state;
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
      pos = await open({ state: { conditions, params, strokes, context, overrides }, contextImage });
    } catch (err) {
      if (!(err instanceof PpgnInputError)) throw err;
      broken = err.message;
      this.log(`room ${s.state.id}: its stored conditions cannot be sampled (${broken}); loaded with its chain paused`);
      pos = await open({
        state: { conditions: [], params: { ...params, mode: 'ppgn' }, strokes: [], context: null, overrides },
        contextImage: null,
      });
    }
    const room = new Room(
      {
        model,
        pack,
        chain: new ChainMirror(pos),
        tokens: s.tokens,
        roles: s.roles,
        banned: s.banned,
        contextImage,
        contextBlob,
        parentItemId: s.parentItemId ?? null,
        broken,
      },
      this.deps,
    );
    // fenced by the room's own lease (also while a released room writes its last changes)
    room.writer = new RoomWriter(this.store, s.state.id, {
      log: this.log,
      lease: () => room.lease,
      onLost: () => this.ownership?.lost(s.state.id),
    });
    return room;
  }
}
