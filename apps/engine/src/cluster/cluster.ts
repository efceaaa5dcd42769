// Several engines, one studio. With REDIS_URL set, engines share rooms through the shared Postgres
// and talk through Redis:
// - each room is owned by exactly one engine at a time (a lease row, see leases.ts); the owner runs
//   its chain, keeps its members and applies its intents;
// - a client may connect to any engine: socket intents reach the owner over Redis RPC (ClusterRooms),
//   HTTP requests for a room are forwarded to the owner's URL (httpRoutes), new rooms go to the
//   least-loaded engine;
// - frames, patches and presence reach every client of the room through the Socket.IO adapter
//   (Redis streams), whichever engine it is connected to;
// - an engine that dies stops renewing its leases; once they expire, an engine with clients of the
//   room (or the first one asked for it) adopts it from its last checkpoint and tells the room's
//   clients to join again, which resyncs them by version;
// - SIGTERM drains: the engine writes each room's last changes, lets the lease go and hands the
//   room to the least-loaded peer before it exits.
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { DEFAULT_STREAM_MAX_BYTES, StreamCap } from './stream-cap';
import type express from 'express';
import { createClient } from 'redis';
import { RedisStore } from 'rate-limit-redis';
import type { Server } from 'socket.io';
import type { PrismaClient } from '@ppgn/db';
import { errorBody, httpStatus, type AdminAction, type Intent, type PresenceUpdate } from '@ppgn/shared';
import { RoomError } from '../rooms/errors';
import type { RoomManager } from '../rooms/manager';
import { LocalRooms, type Caller, type JoinArgs, type Joined, type RoomGateway } from '../rooms/gateway';
import { channel } from '../rooms/socket';
import { EngineRegistry, type EngineInfo } from './engines';
import { Leases, type Lease } from './leases';
import { Rpc, RpcTimeout } from './rpc';
import type { ForwardedRequest } from './client-address';

export interface ClusterOptions {
  redisUrl: string;
  /** where peers reach this engine's HTTP API */
  url: string;
  engineId?: string;
  /** lease time: a dead engine's rooms are adopted this long (plus a sweep) after its last renewal */
  leaseMs?: number;
  /** shared by the engines of a cluster (PPGN_CLUSTER_SECRET): peers' forwarded client addresses are trusted with it */
  secret: string;
  databaseUrl: string;
  /** Redis memory the Socket.IO stream may use (PPGN_STREAM_MAX_BYTES; default 20 MB) */
  streamMaxBytes?: number;
  log?: (l: string) => void;
}

export interface ClusterHealth {
  id: string;
  cluster: true;
  rooms: number;
  chains: number;
  load: number;
  draining: boolean;
  peers: { id: string; url: string; load: number; rooms: number; draining: boolean }[];
}

export const DEFAULT_LEASE_MS = 5000;
const STREAM_MAX_LEN = 2000;
const RPC_MS = 2500;
const HOP = 'x-ppgn-hop';
/**
 * Where a request for a peer goes: the peer's own base URL with the request's path and query, and nothing
 * else of the request (an absolute-form target cannot name another host).
 */
export function forwardUrl(base: string, originalUrl: string): URL {
  const asked = new URL(originalUrl, 'http://request.invalid');
  const u = new URL(base);
  u.pathname = asked.pathname;
  u.search = asked.search;
  u.hash = '';
  return u;
}

const CLIENT = 'x-ppgn-client';
const SECRET = 'x-ppgn-cluster';

type IO = Server;

export class Cluster {
  readonly id: string;
  readonly leases: Leases;
  readonly registry: EngineRegistry;
  readonly rooms: ClusterRooms;
  private readonly local: LocalRooms;
  private owners = new Map<string, string>();
  private adopting = new Map<string, Promise<Lease | null>>();
  /** sockets of other engines that joined rooms owned here (dropped when their engine dies) */
  private remote = new Map<string, { engine: string; roomId: string; userId: string }>();
  private peers: EngineInfo[] = [];
  private loop: ReturnType<typeof setInterval> | null = null;
  private beating = false;
  private draining = false;
  private closed = false;
  /** keeps the Socket.IO Redis stream within its byte budget (set in start) */
  streamCap: StreamCap | null = null;
  private readonly secret: string;
  private readonly log: (l: string) => void;

  private constructor(
    prisma: PrismaClient,
    private readonly manager: RoomManager,
    private readonly io: IO,
    readonly rpc: Rpc<ClusterCalls>,
    private readonly adapterClient: ReturnType<typeof createClient>,
    private readonly opts: ClusterOptions & { engineId: string; leaseMs: number },
  ) {
    this.id = opts.engineId;
    this.log = opts.log ?? (() => {});
    this.leases = new Leases(prisma, this.id, opts.leaseMs);
    this.registry = new EngineRegistry(prisma, { id: this.id, url: opts.url }, opts.leaseMs);
    this.local = new LocalRooms(manager);
    this.rooms = new ClusterRooms(this, this.local);
    this.secret = opts.secret;
  }

  /** Join the cluster: the Socket.IO adapter, RPC, the engine row; rooms are then leased on demand. */
  static async start(prisma: PrismaClient, manager: RoomManager, io: IO, opts: ClusterOptions): Promise<Cluster> {
    const engineId = opts.engineId ?? `e-${randomBytes(4).toString('hex')}`;
    const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    const log = opts.log ?? (() => {});
    const adapterClient = createClient({ url: opts.redisUrl });
    adapterClient.on('error', (err) => log(`redis (adapter): ${(err as Error).message}`));
    try {
      await adapterClient.connect();
    } catch (err) {
      throw new Error(`cannot reach Redis at ${opts.redisUrl} (${(err as Error).message})`);
    }
    // every broadcast (frames too) passes through one Redis stream: capped by entries here (the adapter's
    // default of 10 000 is far more history than connection-state recovery needs) and by bytes in StreamCap
    // (entries differ in size by 100×); a client that was away longer joins again and resyncs by version.
    io.adapter(createAdapter(adapterClient, { maxLen: STREAM_MAX_LEN }));
    let rpc: Rpc<ClusterCalls>;
    try {
      rpc = await Rpc.connect<ClusterCalls>(opts.redisUrl, engineId, opts.secret, log);
    } catch (err) {
      await adapterClient.quit().catch(() => {});
      throw err;
    }
    const cluster = new Cluster(prisma, manager, io, rpc, adapterClient, { ...opts, engineId, leaseMs });
    cluster.streamCap = new StreamCap(adapterClient, opts.streamMaxBytes ?? DEFAULT_STREAM_MAX_BYTES, log);
    cluster.streamCap.start();
    try {
      await cluster.registry.register();
    } catch (err) {
      await cluster.close(false);
      throw err;
    }
    manager.ownership = {
      acquire: (roomId) => cluster.leases.acquire(roomId),
      lost: (roomId) => void cluster.lose(roomId),
    };
    cluster.handlers();
    await cluster.refresh();
    cluster.loop = setInterval(() => void cluster.beat(), Math.max(200, Math.floor(leaseMs / 5)));
    cluster.loop.unref?.();
    return cluster;
  }

  // ------------------------------------------------------------------ where rooms live

  /** 'local' when this engine runs the room (adopting it if nobody holds it), else the owner's id. */
  async locate(roomId: string): Promise<'local' | string> {
    if (this.isLocal(roomId)) return 'local';
    const cached = this.owners.get(roomId);
    if (cached && cached !== this.id) return cached;
    for (let attempt = 0; attempt < 3; attempt++) {
      const holder = await this.leases.holder(roomId);
      if (holder?.valid && holder.owner !== this.id) {
        this.owners.set(roomId, holder.owner);
        return holder.owner;
      }
      if (this.draining)
        throw new RoomError('this engine is handing its rooms over; try again in a moment', 'unavailable');
      const lease = await this.adopt(roomId);
      if (lease) return 'local';
    }
    throw new RoomError('the room is moving between engines; try again in a moment', 'unavailable');
  }

  /** This engine runs the room now. */
  isLocal(roomId: string): boolean {
    return this.manager.rooms.get(roomId)?.lease != null;
  }

  /** The engine we last saw running the room (not this one), if any. */
  ownerOf(roomId: string): string | undefined {
    return this.owners.get(roomId);
  }

  forget(roomId: string): void {
    this.owners.delete(roomId);
  }

  /** The owner did not answer: forget it, and once its lease has expired take the room. */
  async suspect(roomId: string, owner: string): Promise<void> {
    if (this.owners.get(roomId) === owner) this.owners.delete(roomId);
    const until = Date.now() + this.opts.leaseMs + 1000;
    while (Date.now() < until && !this.closed) {
      const holder = await this.leases.holder(roomId);
      if (!holder || !holder.valid || holder.owner !== owner) return;
      await sleep(250);
    }
  }

  /** Take the room's lease and load it here (one attempt at a time per room). Null: someone else has it. */
  private adopt(roomId: string): Promise<Lease | null> {
    let p = this.adopting.get(roomId);
    if (!p) {
      p = (async () => {
        const had = this.manager.rooms.get(roomId);
        const lease = await this.leases.acquire(roomId);
        if (!lease) {
          if (had) await this.manager.evict(roomId);
          // no lease and nobody's lease row: the room does not exist (a 404, not "the room is moving")
          if (!(await this.leases.holder(roomId))) throw new RoomError(`no room "${roomId}"`, 'not_found');
          return null;
        }
        const room = await this.manager.adopt(roomId, lease).catch(async (err) => {
          await this.leases.release([roomId]).catch(() => {});
          throw err;
        });
        if (!room) {
          await this.leases.release([roomId]).catch(() => {});
          throw new RoomError(`no room "${roomId}"`, 'not_found');
        }
        this.owners.set(roomId, this.id);
        if (!had) {
          this.log(`adopted room ${roomId} (lease epoch ${lease.epoch}, step ${room.chain.step})`);
          // everyone in the room (on any engine) joins again and resyncs from their version
          this.rpc.broadcast('owner', { roomId, owner: this.id });
          this.io.to(channel(roomId)).emit('room:moved', { roomId });
        }
        return lease;
      })().finally(() => this.adopting.delete(roomId));
      this.adopting.set(roomId, p);
    }
    return p;
  }

  /** This engine's lease on a room is gone: drop it here (its clients are told by the new owner). */
  private async lose(roomId: string) {
    if (!this.manager.rooms.has(roomId)) return;
    this.log(`room ${roomId}: lease lost; another engine runs it now`);
    this.owners.delete(roomId);
    await this.manager.evict(roomId);
  }

  /** The owner side of a call: the room must be ours (else the caller looks again). */
  ours(roomId: string): LocalRooms {
    if (!this.isLocal(roomId)) throw new RoomError('this engine does not run the room now', 'conflict');
    return this.local;
  }

  private handlers() {
    const rpc = this.rpc;
    rpc.handle('check', (a) => this.ours(a.roomId).check(a.roomId, a.token, a.personId ?? null));
    rpc.handle('join', async (a, from) => {
      const joined = await this.ours(a.roomId).join(a);
      if (from !== this.id) this.remote.set(a.socketId, { engine: from, roomId: a.roomId, userId: a.userId });
      return joined;
    });
    rpc.handle('intent', (a) => this.ours(a.roomId).intent(a.roomId, a.caller, a.intent));
    rpc.handle('admin', (a) => this.ours(a.roomId).admin(a.roomId, a.caller, a.action));
    rpc.handle('presence', (a) => this.local.presence(a.roomId, a.userId, a.p));
    rpc.handle('leave', (a) => {
      this.remote.delete(a.socketId);
      this.local.leave(a.roomId, a.userId, a.socketId, a.left);
    });
    // a draining peer hands a room over
    rpc.handle('adopt', async (a) => {
      if (this.draining || this.closed) return;
      await this.adopt(a.roomId).catch((err) =>
        this.log(`adopting room ${a.roomId} failed: ${(err as Error).message}`),
      );
    });
    rpc.handle('owner', (a) => {
      this.owners.set(a.roomId, a.owner);
      // a stale copy here (we lost the lease without noticing yet) goes at once
      if (a.owner !== this.id && this.manager.rooms.has(a.roomId)) void this.lose(a.roomId);
    });
  }

  // ------------------------------------------------------------------ heartbeat

  private async refresh() {
    this.peers = await this.registry.alive();
  }

  /** Renew leases, report load, forget dead peers' sockets, adopt orphaned rooms our clients are in. */
  private async beat() {
    if (this.beating || this.closed) return;
    this.beating = true;
    try {
      await this.registry.heartbeat(this.manager.load(), this.draining);
      const mine = new Map<string, Lease>();
      for (const [id, r] of this.manager.rooms) if (r.lease) mine.set(id, r.lease);
      const started = Date.now();
      const held = await this.leases.renew(mine);
      for (const [id, lease] of mine) {
        if (held.has(id)) lease.until = this.leases.validUntil(started);
        else await this.lose(id);
      }
      await this.refresh();
      const alive = new Set(this.peers.map((p) => p.id));
      for (const [socketId, s] of this.remote) {
        if (alive.has(s.engine)) continue;
        this.remote.delete(socketId);
        this.local.leave(s.roomId, s.userId, socketId, false);
      }
      if (this.draining) return;
      // rooms our clients are in whose owner stopped renewing: take them over
      for (const roomId of this.clientRooms()) {
        if (this.manager.rooms.has(roomId)) continue;
        const holder = await this.leases.holder(roomId);
        if (holder && holder.valid) continue;
        this.owners.delete(roomId);
        await this.adopt(roomId).catch((err) => this.log(`adopting room ${roomId} failed: ${(err as Error).message}`));
      }
    } catch (err) {
      this.log(`cluster heartbeat failed: ${(err as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  /** Rooms with a client connected to this engine. */
  private clientRooms(): string[] {
    const out: string[] = [];
    for (const name of this.io.of('/').adapter.rooms.keys()) {
      const m = /^room:([^:]+)$/.exec(name);
      if (m) out.push(m[1]!);
    }
    return out;
  }

  // ------------------------------------------------------------------ HTTP

  /** A request a peer forwarded (never forwarded again; its client address counts only with the shared secret). */
  private forwarded(req: express.Request): boolean {
    return req.headers[HOP] !== undefined;
  }

  /** Middleware before the API routes: room requests go to the owner, new rooms to the least-loaded engine. */
  /**
   * HTTP rate limits shared by every engine (one Redis counter per limit and client address), so a cluster of N
   * engines allows what one engine does, not N times as much.
   */
  rateLimitStore(name: string): RedisStore {
    return new RedisStore({
      prefix: `ppgn:rl:${name}:`,
      sendCommand: (...args: string[]) => this.adapterClient.sendCommand(args),
    });
  }

  httpRoutes(router: express.Router): express.Router {
    router.use((req, _res, next) => {
      if (req.headers[SECRET] === this.secret && typeof req.headers[CLIENT] === 'string')
        (req as ForwardedRequest).ppgnClient = req.headers[CLIENT];
      next();
    });
    const place: express.RequestHandler = (req, res, next) => {
      if (this.forwarded(req)) return next();
      this.leastLoaded().then(
        (target) => {
          if (!target || target.id === this.id) return next();
          // the chosen engine did not answer: make the room here
          void this.forward(req, res, target.url).then((ok) => ok || next());
        },
        () => next(),
      );
    };
    const owned =
      (roomOf: (req: express.Request) => unknown): express.RequestHandler =>
      (req, res, next) => {
        const roomId = roomOf(req);
        if (typeof roomId !== 'string' || roomId.length === 0 || roomId.length > 64) return next();
        (async () => {
          // a second try when the owner did not answer (it drained or died: wait out its lease, look again)
          for (let attempt = 0; attempt < 2; attempt++) {
            const where = await this.locate(roomId);
            if (where === 'local') return next();
            if (this.forwarded(req))
              throw new RoomError('the room is moving between engines; try again in a moment', 'unavailable');
            const url = this.peers.find((p) => p.id === where)?.url ?? (await this.registry.url(where));
            if (url && (await this.forward(req, res, url))) return;
            await this.suspect(roomId, where);
          }
          throw new RoomError(
            'the engine running this room is not answering; try again in a few seconds',
            'unavailable',
          );
        })().catch((err: unknown) => {
          if (res.headersSent) return;
          if (err instanceof RoomError && err.code === 'not_found') return next();
          const code = err instanceof RoomError ? err.code : 'unavailable';
          if (!(err instanceof RoomError))
            this.log(`routing a request for room ${roomId} failed: ${(err as Error).message}`);
          res
            .status(httpStatus(code))
            .json(
              errorBody(
                code,
                err instanceof RoomError ? err.message : 'the cluster cannot route this request right now; try again',
              ),
            );
        });
      };
    router.post('/rooms', place);
    router.post('/gallery/mix', place);
    router.post('/gallery/:id/remix', place);
    router.use(
      '/rooms/:id',
      owned((req) => req.params.id),
    );
    router.post(
      '/gallery',
      owned((req) => (req.body as { roomId?: unknown } | undefined)?.roomId),
    );
    return router;
  }

  /**
   * Where a new room goes: the live, non-draining engine with the fewest rooms (leases counted in
   * Postgres at this moment, so a burst of new rooms through several engines spreads out), then the
   * fewest running chains; ties at random.
   */
  private async leastLoaded(): Promise<EngineInfo | null> {
    const live = this.peers.filter((p) => !p.draining);
    if (live.length <= 1) return live[0] ?? null;
    const rooms = await this.leases.counts();
    let best: EngineInfo | null = null;
    let bestScore = Infinity;
    for (const p of live) {
      const chains = p.id === this.id ? this.manager.load().chains : p.chains;
      const score = (rooms.get(p.id) ?? 0) + chains * 0.01 + Math.random() * 1e-3;
      if (score < bestScore) {
        best = p;
        bestScore = score;
      }
    }
    return best;
  }

  /** Send the request on to a peer and relay its answer. False: the peer did not answer (nothing was sent). */
  private async forward(req: express.Request, res: express.Response, base: string): Promise<boolean> {
    const headers: Record<string, string> = {
      [HOP]: this.id,
      [SECRET]: this.secret,
      [CLIENT]: (req as ForwardedRequest).ppgnClient ?? req.ip ?? '',
    };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    if (hasBody) headers['content-type'] = 'application/json';
    try {
      const r = await fetch(forwardUrl(base, req.originalUrl), {
        method: req.method,
        headers,
        body: hasBody ? JSON.stringify(req.body ?? {}) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
      res.status(r.status);
      for (const h of [
        'content-type',
        'content-disposition',
        'cache-control',
        'ratelimit',
        'ratelimit-policy',
        'retry-after',
      ]) {
        const v = r.headers.get(h);
        if (v) res.setHeader(h, v);
      }
      res.end(Buffer.from(await r.arrayBuffer()));
      return true;
    } catch (err) {
      this.log(`forwarding ${req.method} ${req.path} to ${base} failed: ${(err as Error).message}`);
      // relayed halfway: nothing more can be said to the client
      if (res.headersSent) res.end();
      return res.headersSent;
    }
  }

  // ------------------------------------------------------------------ health, drain, close

  health(): ClusterHealth {
    const now = this.manager.load();
    return {
      id: this.id,
      cluster: true,
      ...now,
      draining: this.draining,
      peers: this.peers.map((p) => ({ id: p.id, url: p.url, load: p.load, rooms: p.rooms, draining: p.draining })),
    };
  }

  /**
   * SIGTERM: take no new rooms, then for each room write its last changes, let the lease go and ask
   * the least-loaded peer to adopt it (its clients elsewhere are told to join again by the adopter;
   * this engine's clients reconnect through the proxy and find the room on its new engine).
   */
  async drain(): Promise<number> {
    if (this.draining) return 0;
    this.draining = true;
    await this.registry.heartbeat(this.manager.load(), true).catch(() => {});
    await this.refresh().catch(() => {});
    const targets = this.peers.filter((p) => p.id !== this.id && !p.draining);
    let i = 0;
    let moved = 0;
    for (const roomId of [...this.manager.rooms.keys()]) {
      const saved = await this.manager.release(roomId);
      if (!saved) this.log(`room ${roomId}: some changes were not written before the handover`);
      await this.leases
        .release([roomId])
        .catch((err) => this.log(`releasing room ${roomId} failed: ${(err as Error).message}`));
      this.owners.delete(roomId);
      const target = targets[i++ % Math.max(1, targets.length)];
      if (target) {
        this.rpc.notify(target.id, 'adopt', { roomId });
        moved++;
      }
    }
    return moved;
  }

  /** Leave the cluster (`registered`: remove this engine's row; not when it never got one). */
  async close(registered = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.loop) clearInterval(this.loop);
    this.streamCap?.stop();
    if (registered) await this.registry.remove().catch(() => {});
    await this.rpc.close();
    await this.adapterClient.quit().catch(() => {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What engines ask each other (cluster/rpc.ts carries them): the owner of a room answers the gateway's calls
 * for it; `adopt` hands a room over from a draining engine; `owner` tells everyone who runs a room now.
 */
export type ClusterCalls = {
  check: { args: { roomId: string; token: string; personId: string | null }; result: void };
  join: { args: JoinArgs; result: Joined };
  intent: { args: { roomId: string; caller: Caller; intent: Intent }; result: number };
  admin: { args: { roomId: string; caller: Caller; action: AdminAction }; result: number };
  presence: { args: { roomId: string; userId: string; p: PresenceUpdate }; result: void };
  leave: { args: { roomId: string; userId: string; socketId: string; left: boolean }; result: void };
  adopt: { args: { roomId: string }; result: void };
  owner: { args: { roomId: string; owner: string }; result: void };
};

/** The socket layer's rooms in a cluster: calls go to whichever engine owns the room. */
export class ClusterRooms implements RoomGateway {
  constructor(
    private readonly cluster: Cluster,
    private readonly local: LocalRooms,
  ) {}

  /** Run `method` where the room lives; follow it when it moves, wait out a dead owner's lease. */
  private async route<M extends 'check' | 'join' | 'intent' | 'admin'>(
    roomId: string,
    method: M,
    args: ClusterCalls[M]['args'],
    here: () => Promise<ClusterCalls[M]['result']>,
  ): Promise<ClusterCalls[M]['result']> {
    const until = Date.now() + 15_000;
    for (;;) {
      const where = await this.cluster.locate(roomId);
      if (where === 'local') {
        try {
          return await here();
        } catch (err) {
          // we lost it between locate and the call: look again
          if (
            err instanceof RoomError &&
            err.code === 'not_found' &&
            !this.cluster.isLocal(roomId) &&
            Date.now() < until
          )
            continue;
          throw err;
        }
      }
      try {
        return await this.cluster.rpc.call(where, method, args, RPC_MS);
      } catch (err) {
        const retry = err instanceof RpcTimeout || (err instanceof RoomError && err.code === 'conflict');
        if (!retry || Date.now() > until)
          throw err instanceof RpcTimeout
            ? new RoomError('the engine running this room is not answering; try again', 'unavailable')
            : err;
        if (err instanceof RpcTimeout) await this.cluster.suspect(roomId, where);
        else this.cluster.forget(roomId);
      }
    }
  }

  check(roomId: string, token: string, personId: string | null): Promise<void> {
    return this.route(roomId, 'check', { roomId, token, personId }, () => this.local.check(roomId, token, personId));
  }

  join(a: JoinArgs): Promise<Joined> {
    return this.route(a.roomId, 'join', a, () => this.local.join(a));
  }

  intent(roomId: string, caller: Caller, intent: Intent): Promise<number> {
    return this.route(roomId, 'intent', { roomId, caller, intent }, () => this.local.intent(roomId, caller, intent));
  }

  presence(roomId: string, userId: string, p: PresenceUpdate): void {
    if (this.cluster.isLocal(roomId)) return this.local.presence(roomId, userId, p);
    const owner = this.cluster.ownerOf(roomId);
    if (owner) this.cluster.rpc.notify(owner, 'presence', { roomId, userId, p });
  }

  admin(roomId: string, caller: Caller, action: AdminAction): Promise<number> {
    return this.route(roomId, 'admin', { roomId, caller, action }, () => this.local.admin(roomId, caller, action));
  }

  leave(roomId: string, userId: string, socketId: string, left: boolean): void {
    if (this.cluster.isLocal(roomId)) return this.local.leave(roomId, userId, socketId, left);
    const owner = this.cluster.ownerOf(roomId);
    if (owner) this.cluster.rpc.notify(owner, 'leave', { roomId, userId, socketId, left });
  }
}
