// The cluster launcher (apps/engine/src/launch/cluster.ts): Redis + one embedded Postgres + two real
// engine processes + the balancer; both engines answer and see each other, the balancer alternates
// between them, a room created through the balancer can be joined through either engine (and sends
// the same frames to both), and stop() leaves no process behind.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, startCluster, type Cluster } from '../../apps/engine/src/launch/cluster';
import { api, TestClient } from '../support/engine';
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
    env: { PPGN_BACKEND: 'onnx' },
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
    const ids = c.engines.map((e) => e.id);
    expect(ids.every(Boolean)).toBe(true);
    for (const e of c.engines) {
      const other = c.engines.find((x) => x !== e)!;
      // each engine learns of the other (at the URL the launcher gave it) within a few heartbeats
      const t0 = Date.now();
      for (;;) {
        const res = await fetch(`${e.url}/health`);
        expect(res.status).toBe(200);
        const h = (await res.json()) as {
          ok: boolean;
          engine: { id: string; cluster: boolean; peers: { id: string; url: string }[] };
        };
        expect(h.ok).toBe(true);
        expect(h.engine).toMatchObject({ id: e.id, cluster: true });
        if (h.engine.peers.some((p) => p.id === other.id && p.url === other.url)) break;
        if (Date.now() - t0 > 15_000)
          throw new Error(`${e.name} does not list ${other.name} among its peers: ${JSON.stringify(h.engine.peers)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
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

  it('a room created through the balancer can be joined through either engine, with the same frames on both', async () => {
    const c = cluster!;
    const created = await api<{ id: string; tokens: { editor: string } }>(c.balancer!.url, 'POST', '/rooms', {
      author: 'host',
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['tree'] } }],
      params: { fps: 10 },
    });
    expect(created.status).toBe(201);
    const [a, b] = c.engines.map((e) => new TestClient(e.url));
    try {
      for (const [i, t] of [a!, b!].entries()) {
        const joined = await t.join(created.body.id, created.body.tokens.editor, `via-${i + 1}`);
        expect(joined.ok).toBe(true);
      }
      await a!.waitFor(() => a!.frames.length >= 3 && b!.frames.length >= 3, 30_000, 'frames on both engines');
      const steps = new Set(a!.frames.map((f) => f.step));
      expect(b!.frames.some((f) => steps.has(f.step))).toBe(true);
      // a steer through either engine reaches the room
      const ack = await b!.intent({ type: 'params.set', params: { eps3: 0.002 } });
      expect(ack.ok).toBe(true);
      await a!.waitFor(() => a!.state?.params.eps3 === 0.002, 10_000, 'the steer on the other engine');
      // and the room's HTTP API answers through every entry point
      for (const base of [c.balancer!.url, ...c.engines.map((e) => e.url)]) {
        const view = await api<{ state: { id: string } }>(
          base,
          'GET',
          `/rooms/${created.body.id}?token=${created.body.tokens.editor}`,
        );
        expect(view.status).toBe(200);
      }
    } finally {
      a!.close();
      b!.close();
    }
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
