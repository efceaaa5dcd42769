// Composition root: packs + backend + database + rooms + HTTP/Socket.IO.
import express from 'express';
import path from 'node:path';
import { DEFAULT_DATA_DIR, openDatabase, DatabaseError, redactUrl, type Database } from '@ppgn/db';
import { Cluster, DEFAULT_LEASE_MS } from './cluster/cluster';
import { EngineIdInUse } from './cluster/engines';
import { HTTP_LIMITS, type EngineConfig } from './config';
import { StartupError } from './errors';
import { Gallery } from './gallery';
import { createEngineServer, type EngineServer } from './http';
import { Identities } from './identity';
import { assertPortFree } from './ports';
import { LocalRooms } from './rooms/gateway';
import { RoomManager } from './rooms/manager';
import { attachRoomSockets, socketEvents } from './rooms/socket';
import { replaySpilled } from './rooms/spill';
import { RoomStore } from './rooms/store';
import { apiRouter } from './routes';
import { loadEnginePacks, startBackend, type EnginePack } from './runtime';
import { InProcessSampler, WorkerPool, defaultWorkerCount } from './sampling/pool';
import type { Sampler } from './sampling/protocol';

export interface Engine {
  port: number;
  packs: EnginePack[];
  backend: { name: string; reason: string };
  manager: RoomManager;
  server: EngineServer;
  db: Database;
  /** cluster mode (REDIS_URL): this engine's part in it */
  cluster: Cluster | null;
  close(): Promise<void>;
}

export async function startEngine(config: EngineConfig, log: (line: string) => void = console.log): Promise<Engine> {
  await assertPortFree(config.port, config.host);
  const packs = await loadEnginePacks(config);
  const backend = await startBackend(config.backend);
  log(`[engine] backend: ${backend.name}, ${backend.runtime} (${backend.reason})`);
  // the sampler workers (each loads its runtime and packs: seconds) start while the database opens
  let server: EngineServer | undefined;
  /** the manager, once it exists: a restarted worker re-opens its rooms from the manager's copy */
  const rooms: { manager?: RoomManager } = {};
  const packMap = new Map(packs.map((p) => [p.id, p.pack]));
  const workers = config.samplerWorkers ?? defaultWorkerCount();
  const samplerStart: Promise<Sampler> =
    workers === 0
      ? Promise.resolve(new InProcessSampler(packMap, (l) => log(`[engine] ${l}`)))
      : WorkerPool.start({
          workers,
          backend: backend.name,
          packDirs: new Map(packs.map((p) => [p.id, p.dir])),
          restore: (roomId) => rooms.manager?.restoreChain(roomId) ?? null,
          log: (l) => log(`[engine] ${l}`),
        });
  samplerStart.catch(() => {}); // awaited (and reported) after the database; not an unhandled rejection meanwhile
  let db: Database;
  try {
    db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    await samplerStart.then((s) => s.close()).catch(() => {});
    if (err instanceof DatabaseError) throw new StartupError(err.message, err.hint);
    throw err;
  }
  log(`[engine] database: ${db.embedded ? 'embedded Postgres' : 'DATABASE_URL'} (migrations applied)`);
  let sampler: Sampler;
  try {
    sampler = await samplerStart;
  } catch (err) {
    await db.close();
    throw new StartupError(
      `the sampler workers did not start: ${(err as Error).message}`,
      'set PPGN_SAMPLER_WORKERS=0 to sample on the main thread',
    );
  }
  log(`[engine] sampler: ${workers === 0 ? 'main thread (PPGN_SAMPLER_WORKERS=0)' : `${workers} worker thread(s)`}`);
  const store = new RoomStore(db.prisma, config.activityKeep);
  // changes an earlier stop could not write (the database was down) go in before any room opens
  const spillDir = config.spillDir ?? path.join(path.dirname(config.dataDir ?? DEFAULT_DATA_DIR), 'unsaved');
  const replay = await replaySpilled(store, spillDir, (l) => log(`[engine] ${l}`));
  if (replay.replayed)
    log(
      `[engine] wrote ${replay.changes} change(s) of ${replay.replayed} room(s) kept from the last stop (${spillDir})`,
    );
  const manager = new RoomManager(
    packMap,
    sampler,
    store,
    socketEvents(() => server?.io),
    (l) => log(`[engine] ${l}`),
    config.idleMs,
    config.reconnectGraceMs,
  );
  manager.scheduler.maxBatch = config.maxBatch ?? (backend.gpu ? 32 : 2);
  manager.spillDir = spillDir;
  const identities = new Identities(db.prisma);
  rooms.manager = manager;
  let cluster: Cluster | null = null;
  try {
    if (!config.redisUrl) {
      const resumed = await manager.resume();
      if (resumed) log(`[engine] resumed ${resumed} room(s)`);
    }
    const gallery = new Gallery(db.prisma);
    // in a cluster, requests for rooms another engine runs are forwarded before the API routes
    const front = express.Router();
    server = createEngineServer({
      backend,
      packs: packs.map((p) => p.summary),
      db: {
        ping: () => db.ping(),
        embedded: db.embedded,
        countRooms: () => db.prisma.room.count(),
        countGallery: () => gallery.count(),
      },
      runningRooms: () => manager.running(),
      engine: () => cluster?.health() ?? { id: 'local', cluster: false, ...manager.load(), draining: false, peers: [] },
      routes: front,
      trustProxy: config.trustProxy,
    });
    if (config.redisUrl) {
      if (db.embedded)
        throw new StartupError(
          'REDIS_URL is set but DATABASE_URL is not: engines of a cluster share one Postgres',
          'set DATABASE_URL for every engine (npm run cluster does it for you), or unset REDIS_URL',
        );
      try {
        cluster = await Cluster.start(db.prisma, manager, server.io, {
          redisUrl: config.redisUrl,
          url: config.engineUrl ?? `http://127.0.0.1:${config.port}`,
          engineId: config.engineId,
          leaseMs: config.leaseMs,
          databaseUrl: db.url,
          secret: config.clusterSecret!,
          streamMaxBytes: config.streamMaxBytes,
          log: (l) => log(`[engine] ${l}`),
        });
      } catch (err) {
        throw new StartupError(
          `could not join the cluster: ${(err as Error).message}`,
          err instanceof EngineIdInUse
            ? `give every engine its own PPGN_ENGINE_ID (or unset it for a random one), or start again ${Math.ceil((config.leaseMs ?? DEFAULT_LEASE_MS) / 1000)} s after the other one stopped`
            : 'start Redis (or fix REDIS_URL), or unset REDIS_URL to run one engine on its own',
        );
      }
      cluster.httpRoutes(front);
      log(
        `[engine] cluster: engine ${cluster.id} (Redis ${redactUrl(config.redisUrl)}, lease ${(config.leaseMs ?? DEFAULT_LEASE_MS) / 1000} s)`,
      );
    }
    const clustered = cluster;
    front.use(
      apiRouter(
        manager,
        gallery,
        packs,
        identities,
        config.httpLimits,
        clustered ? (name) => clustered.rateLimitStore(name) : undefined,
      ),
    );
    const limits = { ...HTTP_LIMITS, ...config.httpLimits };
    attachRoomSockets(server.io, cluster ? cluster.rooms : new LocalRooms(manager), identities, {
      log: (l) => log(`[engine] ${l}`),
      intentRate: config.intentRate,
      presenceRate: config.presenceRate,
      identityLimit: { limit: limits.identities, windowMs: limits.windowMs },
    });
    const port = await server.listen(config.port, config.host);
    manager.start();
    const srv = server;
    let closed = false;
    return {
      port,
      packs,
      backend,
      manager,
      server: srv,
      db,
      cluster,
      async close() {
        if (closed) return;
        closed = true;
        if (cluster) {
          const moved = await cluster
            .drain()
            .catch((err) => (log(`[engine] handing rooms over failed: ${(err as Error).message}`), 0));
          if (moved) log(`[engine] handed ${moved} room(s) over to other engines`);
        }
        await manager.stop();
        // sockets close before Redis goes (the adapter stores their sessions for recovery elsewhere)
        await srv.close().catch(() => {});
        await cluster?.close();
        await db.close();
      },
    };
  } catch (err) {
    await manager.stop().catch(() => {});
    await cluster?.close().catch(() => {});
    await db.close();
    throw err;
  }
}
