// Sampling in worker threads, seen from the outside: a seeded room gives the same frames as on the main
// thread, the engine keeps answering while every worker is busy, and a worker that dies is restarted with
// its rooms going on from where they were. Real engines, real Postgres, socket.io clients.
import { afterAll, describe, expect, it } from 'vitest';
import type { Frame } from '@ppgn/shared';
import type { WorkerPool } from '../../apps/engine/src/sampling/pool';
import { api, startTestEngine, TestClient } from '../support/engine';

type TestEngine = Awaited<ReturnType<typeof startTestEngine>>;
const engines: TestEngine[] = [];
const clients: TestClient[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function engine(name: string, opts: Parameters<typeof startTestEngine>[1]) {
  const t = await startTestEngine(name, opts);
  engines.push(t);
  return t;
}

function client(t: TestEngine) {
  const c = new TestClient(t.base);
  clients.push(c);
  return c;
}

interface Created {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
}

async function createRoom(t: TestEngine, body: object): Promise<Created> {
  const res = await api<Created>(t.base, 'POST', '/rooms', { author: 'tester', ...body });
  expect(res.status).toBe(201);
  return res.body;
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const t of engines) await t.close();
});

describe('sampler workers', () => {
  it('a seeded room gives the same frames byte for byte with worker threads as on the main thread', async () => {
    /** step a paused room through steering, a reset and a context frame; every frame, keyed by step */
    const script = async (t: TestEngine) => {
      const conditions = [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }];
      const room = await createRoom(t, { conditions, params: { seed: 4242, fps: 30 }, running: false });
      const c = client(t);
      await c.join(room.id, room.tokens.owner, 'Ann');
      const frames: Frame[] = [];
      const steps = async (n: number) => {
        const before = c.frames.length;
        expect(await c.intent({ type: 'chain.step', steps: n })).toMatchObject({ ok: true });
        await c.waitFor(() => c.frames.length >= before + n, 30_000, `${n} frames`);
        frames.push(...c.frames.slice(before, before + n));
      };
      await steps(6);
      expect(await c.intent({ type: 'params.set', params: { eps3: 0.05, lr: 0.5 } })).toMatchObject({ ok: true });
      await steps(5);
      expect(
        await c.intent({
          type: 'condition.add',
          id: 'star',
          target: { kind: 'class', condition: 'class', labels: ['star'] },
          weight: 0.5,
        }),
      ).toMatchObject({ ok: true });
      await steps(4);
      expect(await c.intent({ type: 'chain.reset' })).toMatchObject({ ok: true });
      await steps(5);
      // inpainting: the current frame becomes the context of a painted mask
      expect(
        await c.intent({
          type: 'mask.stroke',
          stroke: {
            id: 's1',
            erase: false,
            radius: 0.2,
            points: [
              [0.3, 0.3],
              [0.6, 0.5],
            ],
          },
        }),
      ).toMatchObject({ ok: true });
      expect(await c.intent({ type: 'mask.context', useCurrentFrame: true })).toMatchObject({ ok: true });
      await steps(4);
      const saved = await api<ArrayBuffer>(
        t.base,
        'GET',
        `/rooms/${room.id}/history/5.png?token=${room.tokens.viewer}`,
      );
      expect(saved.status).toBe(200);
      c.close();
      return {
        frames: frames.map((f) => ({
          step: f.step,
          png: Buffer.from(f.image).toString('base64'),
          scores: f.scores,
          hNorm: f.hNorm,
        })),
        history5: Buffer.from(saved.body).toString('base64'),
      };
    };
    const inProcess = await engine('frames-main', { samplerWorkers: 0 });
    expect(inProcess.engine.manager.sampler.workers).toBe(0);
    const reference = await script(inProcess);
    const pooled = await engine('frames-workers', { samplerWorkers: 2 });
    expect(pooled.engine.manager.sampler.workers).toBe(2);
    const got = await script(pooled);
    expect(reference.frames.map((f) => f.step)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(new Set(reference.frames.map((f) => f.png)).size).toBeGreaterThan(20);
    expect(got).toEqual(reference);
  });

  it('a worker that dies is started again and its rooms go on from their last step; other rooms keep sampling', async () => {
    const t = await engine('crash', { samplerWorkers: 2 });
    const pool = t.engine.manager.sampler as WorkerPool;
    const conditions = [{ target: { kind: 'class', condition: 'class', labels: ['dog'] } }];
    const rooms = [
      await createRoom(t, { conditions, params: { fps: 20 } }),
      await createRoom(t, { conditions, params: { fps: 20 } }),
    ];
    const [a, b] = rooms.map(() => client(t));
    await a!.join(rooms[0]!.id, rooms[0]!.tokens.owner, 'A');
    await b!.join(rooms[1]!.id, rooms[1]!.tokens.owner, 'B');
    expect(pool.workerOf(rooms[0]!.id)).not.toBe(pool.workerOf(rooms[1]!.id));
    await a!.waitFor(() => a!.frames.length >= 5, 30_000, 'frames in room A');
    const victim = pool.workerOf(rooms[0]!.id)!;
    const stepAtCrash = t.engine.manager.get(rooms[0]!.id).chain.step;
    const bFrames = b!.frames.length;
    await pool.thread(victim).terminate();
    const crashedAt = a!.frames.length;
    // the other worker's room is not held up while A's worker restarts
    await b!.waitFor(() => b!.frames.length >= bFrames + 5, 30_000, 'room B to keep going');
    await a!.waitFor(() => a!.frames.length >= crashedAt + 5, 60_000, 'room A after the restart');
    const after = a!.frames.slice(crashedAt);
    // it went on from where it was (no fresh chain from step 0), one step at a time
    expect(after[0]!.step).toBeGreaterThanOrEqual(stepAtCrash);
    for (let i = 1; i < after.length; i++) expect(after[i]!.step).toBe(after[i - 1]!.step + 1);
    expect(a!.errors).toEqual([]);
    expect(t.engine.manager.get(rooms[0]!.id).chainError).toBeNull();
  });

  it('keeps answering HTTP while every worker is busy sampling four rooms', async () => {
    // random weights in the default pack's architecture (64×64 conv): a step costs real CPU time
    const t = await engine('busy', { samplerWorkers: 1, pack: 'emoji64', backend: 'wasm' });
    const packs = await api<{ conditionSpecs: { id: string; kind: string; labels?: string[] }[] }[]>(
      t.base,
      'GET',
      '/packs',
    );
    const cls = packs.body[0]!.conditionSpecs.find((c) => c.kind === 'classes')!;
    const cs: TestClient[] = [];
    for (let i = 0; i < 4; i++) {
      const room = await createRoom(t, {
        params: { fps: 30 },
        conditions: [{ target: { kind: 'class', condition: cls.id, labels: [cls.labels![i]] } }],
      });
      const c = client(t);
      await c.join(room.id, room.tokens.owner, `u${i}`);
      cs.push(c);
    }
    await Promise.all(cs.map((c) => c.waitFor(() => c.frames.length >= 2, 60_000, 'frames')));
    const { manager } = t.engine;
    const probes: { ms: number; duringOneStep: boolean }[] = [];
    for (let i = 0; i < 12; i++) {
      // wait until a step is in flight in the worker, then ask the engine something
      while (manager.sampler.inFlight() === 0) await sleep(2);
      const ticks = manager.scheduler.stats.ticks;
      const t0 = performance.now();
      const res = await fetch(`${t.base}/health`);
      const ms = performance.now() - t0;
      expect(res.status).toBe(200);
      probes.push({ ms, duringOneStep: manager.scheduler.stats.ticks === ticks && manager.sampler.inFlight() > 0 });
      await sleep(50);
    }
    // the answers came while the worker was in the middle of a step: the main thread was free
    expect(probes.filter((p) => p.duringOneStep).length).toBeGreaterThan(0);
    // generous: a 2-core machine shared with other work; on the main thread a batched step of 4 rooms
    // would hold every answer back for the whole step
    expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(3000);
    // and sampling went on meanwhile
    const n = cs.map((c) => c.frames.length);
    await Promise.all(cs.map((c, i) => c.waitFor(() => c.frames.length > n[i]!, 30_000, 'more frames')));
  });
});

describe('pictures people send are decoded off the main thread (issue 19, item 1)', () => {
  it('a start picture and a reference picture are decoded in a sampler worker: the main thread decodes no PNG', async () => {
    const { encodePng, pngStats } = await import('@ppgn/core');
    const t = await engine('decode-thread', { samplerWorkers: 1 });
    const N = 48;
    const data = new Float32Array(N * N * 3).map((_, i) => (i % 7) / 7);
    const png = Buffer.from(encodePng({ shape: [N, N, 3], data })).toString('base64');
    const before = pngStats.decoded;
    const made = await createRoom(t, { imagePng: png, running: false });
    const c = client(t);
    await c.join(made.id, made.tokens.owner, 'Ann');
    expect(
      await c.intent({ type: 'condition.add', id: 'ref', target: { kind: 'image', png, name: 'a picture' } } as never),
    ).toMatchObject({ ok: true });
    const upload = await api(
      t.base,
      'POST',
      `/rooms/${made.id}/image`,
      { token: made.tokens.owner, imagePng: png },
      c.credential,
    );
    expect(upload.status).toBe(200);
    await c.waitFor(() => (c.state?.conditions.length ?? 0) === 1, 10_000, 'the reference condition');
    // this thread is the engine's main thread (the test engine runs in-process); its workers count their own
    expect(pngStats.decoded).toBe(before);
  });
});
