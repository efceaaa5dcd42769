// A cluster on loopback for tests: one Redis, one Postgres, engine processes that share them.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startRedis, type LocalRedis } from '../../apps/engine/src/launch/redis';
import { startEmbeddedPostgres } from '../../packages/db/src/embedded';
import { makeModelsDir } from './pack';
import { ENGINE_ENTRY, freePort, startProcess, tempDir, type Proc } from './procs';

export interface TestEngineProc {
  id: string;
  port: number;
  base: string;
  proc: Proc;
}

export async function startTestCluster(name: string, opts: { leaseS?: number } = {}) {
  const tmp = tempDir(name);
  const redis: LocalRedis = await startRedis();
  const db = await startEmbeddedPostgres({ dataDir: path.join(tmp.dir, 'pg'), ephemeral: true });
  const modelsDir = await makeModelsDir(path.join(tmp.dir, 'models'));
  const engines: TestEngineProc[] = [];
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const secret = randomBytes(24).toString('hex');
  const cluster = {
    /** PPGN_CLUSTER_SECRET of its engines */
    secret,
    tmp,
    redis,
    db,
    engines,
    sql,
    /** the environment of an engine of this cluster */
    engineEnv(id: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
      return {
        ENGINE_PORT: String(port),
        ENGINE_HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        PPGN_CLUSTER_SECRET: secret,
        PPGN_ENGINE_ID: id,
        PPGN_LEASE_S: String(opts.leaseS ?? 3),
        PPGN_MODELS_DIR: modelsDir,
        PPGN_BACKEND: 'onnx',
        PPGN_SAMPLER_WORKERS: '1',
        ...extra,
      };
    },
    async startEngine(id: string, extra: Record<string, string> = {}): Promise<TestEngineProc> {
      const port = await freePort();
      const proc = startProcess(ENGINE_ENTRY, cluster.engineEnv(id, port, extra));
      await proc.waitFor(/ready on/, 120_000);
      const e = { id, port, base: `http://127.0.0.1:${port}`, proc };
      engines.push(e);
      return e;
    },
    /** the engine holding the room's lease now (null: none valid) */
    async owner(roomId: string): Promise<string | null> {
      const r = await sql.query(
        `SELECT owner FROM "RoomLease" WHERE "roomId" = $1 AND "expiresAt" > (now() AT TIME ZONE 'UTC')`,
        [roomId],
      );
      return r.rows[0]?.owner ?? null;
    },
    async stop() {
      await Promise.all(engines.map((e) => e.proc.stop().catch(() => {})));
      await sql.end().catch(() => {});
      await redis.stop();
      await db.stop();
      tmp.remove();
    },
  };
  return cluster;
}
