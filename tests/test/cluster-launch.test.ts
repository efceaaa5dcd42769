// The cluster launcher (apps/engine/src/launch/cluster.ts): Redis + one embedded Postgres + two real
// engine processes + the balancer; both engines answer, the balancer alternates between them, and
// stop() leaves no process behind.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, startCluster, type Cluster } from '../../apps/engine/src/launch/cluster';
import { makeModelsDir } from '../support/pack';
import { tempDir } from '../support/procs';

const tmp = tempDir('cluster-launch');
let cluster: Cluster | undefined;
const lines: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  cluster = await startCluster({
    engines: 2,
    modelsDir: await makeModelsDir(path.join(tmp.dir, 'models')),
    samplerWorkers: 0,
    env: { PPGN_BACKEND: 'cpu' },
    databaseUrl: '',
    redisUrl: '',
    balancer: true,
    log: (l) => lines.push(l),
  });
});
afterAll(async () => {
  await cluster?.stop();
  tmp.remove();
});

describe('cluster launcher', () => {
  it('starts two engines on consecutive ports against one Redis and one Postgres, with prefixed output', async () => {
    const c = cluster!;
    expect(c.engines).toHaveLength(2);
    expect(c.engines[1]!.port).toBe(c.engines[0]!.port + 1);
    expect(c.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(c.databaseUrl).toMatch(/^postgresql:\/\//);
    for (const e of c.engines) {
      const res = await fetch(`${e.url}/health`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    }
    expect(lines.some((l) => l.startsWith('[engine-1] ready on'))).toBe(true);
    expect(lines.some((l) => l.startsWith('[engine-2] ready on'))).toBe(true);
  });

  it('the balancer spreads connections over both engines', async () => {
    const c = cluster!;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${c.balancer!.url}/health`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(c.balancer!.backends().map((b) => b.connections)).toEqual([2, 2]);
  });

  it('refuses a bad engine count with a one-line hint', async () => {
    await expect(startCluster({ engines: 0 })).rejects.toThrow(ClusterError);
    await expect(startCluster({ engines: 2.5 })).rejects.toThrow(/whole number from 1 to 16/);
  });

  it('stop() drains the engines and stops the Redis and Postgres it started', async () => {
    const c = cluster!;
    const pids = [...c.engines.map((e) => e.pid), c.started.redis!.child.pid!];
    await c.stop();
    cluster = undefined;
    expect(pids.filter(alive)).toEqual([]);
    await expect(fetch(`${c.engines[0]!.url}/health`)).rejects.toThrow();
  });
});
