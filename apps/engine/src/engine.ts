// Composition root: packs + backend + database + rooms + HTTP/Socket.IO.
import { openDatabase, DatabaseError, type Database } from '@ppgn/db';
import { HTTP_LIMITS, type EngineConfig } from './config';
import { StartupError } from './errors';
import { Gallery } from './gallery';
import { createEngineServer, type EngineServer } from './http';
import { Identities } from './identity';
import { assertPortFree } from './ports';
import { RoomManager } from './rooms/manager';
import { attachRoomSockets, socketEvents } from './rooms/socket';
import { RoomStore } from './rooms/store';
import { apiRouter } from './routes';
import { loadEnginePacks, startBackend, type EnginePack } from './runtime';
import { InProcessSampler, WorkerPool, defaultWorkerCount, type Sampler } from './sampling/pool';

export interface Engine {
  port: number;
  packs: EnginePack[];
  backend: { name: string; reason: string };
  manager: RoomManager;
  server: EngineServer;
  db: Database;
  close(): Promise<void>;
}

export async function startEngine(config: EngineConfig, log: (line: string) => void = console.log): Promise<Engine> {
  await assertPortFree(config.port, config.host);
  const packs = await loadEnginePacks(config);
  const backend = await startBackend(config.backend);
  log(`[engine] tfjs backend: ${backend.name} (${backend.reason})`);
  let db: Database;
  try {
    db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    if (err instanceof DatabaseError) throw new StartupError(err.message, err.hint);
    throw err;
  }
  log(`[engine] database: ${db.embedded ? 'embedded Postgres' : 'DATABASE_URL'} (migrations applied)`);
  let server: EngineServer | undefined;
  /** the manager, once it exists: a restarted worker re-opens its rooms from the manager's copy */
  const rooms: { manager?: RoomManager } = {};
  const packMap = new Map(packs.map((p) => [p.id, p.pack]));
  const workers = config.samplerWorkers ?? defaultWorkerCount();
  let sampler: Sampler;
  try {
    sampler =
      workers === 0
        ? new InProcessSampler(packMap, (l) => log(`[engine] ${l}`))
        : await WorkerPool.start({
            workers,
            backend: backend.name,
            packDirs: new Map(packs.map((p) => [p.id, p.dir])),
            restore: (roomId) => rooms.manager?.restoreChain(roomId) ?? null,
            log: (l) => log(`[engine] ${l}`),
          });
  } catch (err) {
    await db.close();
    throw new StartupError(`the sampler workers did not start: ${(err as Error).message}`, 'set PPGN_SAMPLER_WORKERS=0 to sample on the main thread');
  }
  log(`[engine] sampler: ${workers === 0 ? 'main thread (PPGN_SAMPLER_WORKERS=0)' : `${workers} worker thread(s)`}`);
  const manager = new RoomManager(
    packMap,
    sampler,
    new RoomStore(db.prisma),
    socketEvents(() => server?.io),
    (l) => log(`[engine] ${l}`),
    config.idleMs,
    config.reconnectGraceMs,
  );
  const identities = new Identities(db.prisma);
  rooms.manager = manager;
  try {
    const resumed = await manager.resume();
    if (resumed) log(`[engine] resumed ${resumed} room(s)`);
    const gallery = new Gallery(db.prisma);
    server = createEngineServer({
      backend,
      packs: packs.map((p) => p.summary),
      db: { ping: () => db.ping(), embedded: db.embedded, countRooms: () => db.prisma.room.count(), countGallery: () => gallery.count() },
      runningRooms: () => manager.running(),
      routes: apiRouter(manager, gallery, packs, identities, config.httpLimits),
    });
    const limits = { ...HTTP_LIMITS, ...config.httpLimits };
    attachRoomSockets(server.io, manager, identities, {
      log: (l) => log(`[engine] ${l}`),
      intentRate: config.intentRate,
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
      async close() {
        if (closed) return;
        closed = true;
        await manager.stop();
        await srv.close().catch(() => {});
        await db.close();
      },
    };
  } catch (err) {
    await manager.stop().catch(() => {});
    await db.close();
    throw err;
  }
}
