// The sampler in worker threads against the same sampler on the main thread: same frames byte for byte,
// a throwing chain fails alone, a worker that dies is restarted and its rooms go on from their last step.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRandomPack, encodePng, initBackend, type Pack } from '@ppgn/core';
import type { RoomCondition } from '@ppgn/shared';
import { loadPack, savePack } from '@ppgn/core/node';
import { newRoomState } from '../src/rooms/defaults';
import { InProcessSampler, WorkerPool } from '../src/sampling/pool';
import type { ChainPosition, ChainSpec, OpenChain, Sampler, StepOutcome, StepResult } from '../src/sampling/protocol';

const LABELS = ['cat', 'dog', 'tree', 'star'];
let dir: string;
let pack: Pack;
let local: InProcessSampler;
let pool: WorkerPool;
const positions = new Map<string, OpenChain>();

function spec(label: string, patch: Partial<ChainSpec['state']['params']> = {}): ChainSpec {
  const s = newRoomState('r', 'r', 'testpack', {});
  s.conditions = [
    {
      id: 'c1',
      target: { kind: 'class', condition: 'class', labels: [label], variant: 'logsoftmax' },
      weight: 1,
      enabled: true,
      author: 't',
    },
  ];
  s.params = { ...s.params, ...patch };
  return {
    state: { conditions: s.conditions, params: s.params, strokes: s.strokes, context: s.context },
    contextImage: null,
  };
}

const room = (roomId: string, seed: number, label: string): OpenChain => ({
  roomId,
  packId: 'testpack',
  spec: spec(label),
  seed,
  step: 0,
});

/** what the main thread keeps of a step (the pool's `restore` reads it after a crash) */
function remember(results: StepResult[]) {
  for (const r of results) {
    if (!r.ok) continue;
    const o = positions.get(r.roomId)!;
    positions.set(r.roomId, { ...o, step: r.step, h0: r.h, rng: r.rng });
  }
}

const okOnly = (rs: StepResult[]) =>
  rs.filter((r): r is Extract<StepOutcome, { ok: true }> => r.ok).sort((a, b) => a.roomId.localeCompare(b.roomId));
const bytes = (r: { png: Uint8Array; h: Float32Array }) => ({
  png: Buffer.from(r.png).toString('base64'),
  h: Buffer.from(r.h.buffer, r.h.byteOffset, r.h.byteLength).toString('base64'),
});

beforeAll(async () => {
  await initBackend('onnx', { log: () => {} });
  dir = mkdtempSync(path.join(os.tmpdir(), 'ppgn-sampler-'));
  const built = buildRandomPack(
    { name: 'testpack', image: [16, 16, 3], codeDim: 16, classes: LABELS, keywords: ['red', 'round'] },
    7,
  );
  await savePack(path.join(dir, 'testpack'), built);
  built.dispose();
  pack = await loadPack(path.join(dir, 'testpack'));
  local = new InProcessSampler(new Map([['testpack', pack]]));
  pool = await WorkerPool.start({
    workers: 2,
    backend: 'onnx',
    packDirs: new Map([['testpack', path.join(dir, 'testpack')]]),
    restore: (id) => positions.get(id) ?? null,
  });
});

afterAll(async () => {
  await pool?.close();
  await local?.close();
  pack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('sampler worker threads', () => {
  it('give the same frames, codes and scores as the main thread, byte for byte (steering and reset included)', async () => {
    expect(pool.workers).toBe(2);
    const rooms = [room('a', 11, 'cat'), room('b', 12, 'dog'), room('c', 13, 'cat')];
    const opened: ChainPosition[][] = [[], []];
    for (const [i, s] of ([local, pool] as Sampler[]).entries())
      for (const r of rooms) opened[i]!.push(await s.open(r));
    expect(opened[1]).toEqual(opened[0]);
    // least-loaded placement spreads the rooms over both workers
    expect(new Set(rooms.map((r) => pool.workerOf(r.roomId))).size).toBe(2);
    const ids = rooms.map((r) => r.roomId);
    const run = async (s: Sampler) => {
      const frames: ReturnType<typeof bytes>[] = [];
      const scores: Record<string, number>[] = [];
      for (let step = 0; step < 12; step++) {
        if (step === 4) {
          // a change record by record: the edited condition, the parameters, the setting now overridden
          const next = spec('tree', { eps3: 0.05 }).state;
          await s.update('a', { conditions: { put: next.conditions }, params: next.params, overrides: ['eps3'] });
        }
        if (step === 8) await s.reset('b', spec('star'));
        for (const r of okOnly(await s.step(ids))) {
          frames.push(bytes(r));
          scores.push(r.scores);
        }
      }
      return {
        frames,
        scores,
        render: Buffer.from(await s.renderPng('testpack', new Float32Array(16).fill(0.5))).toString('base64'),
      };
    };
    const inProcess = await run(local);
    const workers = await run(pool);
    expect(inProcess.frames).toHaveLength(36);
    expect(workers.frames).toEqual(inProcess.frames);
    expect(workers.scores).toEqual(inProcess.scores);
    expect(workers.render).toBe(inProcess.render);
    // the frames are real PNGs that change as the chains move
    expect(Buffer.from(inProcess.frames[0]!.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(new Set(inProcess.frames.map((f) => f.h)).size).toBeGreaterThan(30);
  });

  it("each frame names the scores of every room condition under the condition's id (in workers and in-process)", async () => {
    const s = newRoomState('scored', 'scored', 'testpack', {});
    const cond = (id: string, target: RoomCondition['target'], extra: Partial<RoomCondition> = {}): RoomCondition => ({
      id,
      target,
      weight: 1,
      enabled: true,
      author: 't',
      ...extra,
    });
    const png = Buffer.from(encodePng({ shape: [16, 16, 3], data: new Float32Array(16 * 16 * 3).fill(0.25) })).toString(
      'base64',
    );
    s.conditions = [
      cond('two', { kind: 'class', condition: 'class', labels: ['cat', 'dog'], variant: 'logsoftmax' }),
      cond('words', { kind: 'text', condition: 'keywords', text: 'red and round things' }),
      cond('unit', { kind: 'unit', condition: 'units', layer: 'conv1', channel: 2 }),
      cond('ref', { kind: 'image', png, name: 'grey' }),
      // the same label as "two": both conditions list p(cat)
      cond('cat-again', { kind: 'class', condition: 'class', labels: ['cat'], variant: 'logsoftmax' }),
      // not sampled, so not scored
      cond('off', { kind: 'class', condition: 'class', labels: ['star'], variant: 'logsoftmax' }, { enabled: false }),
      cond('zero', { kind: 'class', condition: 'class', labels: ['tree'], variant: 'logsoftmax' }, { weight: 0 }),
    ];
    const open: OpenChain = {
      roomId: 'scored',
      packId: 'testpack',
      spec: { state: { conditions: s.conditions, params: s.params, strokes: [], context: null }, contextImage: null },
      seed: 5,
      step: 0,
    };
    const seen: unknown[] = [];
    for (const sampler of [local, pool] as Sampler[]) {
      positions.set(open.roomId, open);
      await sampler.open(open);
      const [r] = okOnly(await sampler.step(['scored']));
      expect(r!.conditionScores).toEqual({
        two: ['p(cat)', 'p(dog)'],
        words: ['kw(red)', 'kw(round)'],
        unit: ['unit(conv1:2)'],
        ref: ['refDist(code)'],
        'cat-again': ['p(cat)'],
      });
      for (const names of Object.values(r!.conditionScores))
        for (const n of names) expect(r!.scores[n]).toEqual(expect.any(Number));
      seen.push({ scores: r!.scores, conditionScores: r!.conditionScores });
      await sampler.drop('scored');
    }
    expect(seen[1]).toEqual(seen[0]);
  });

  it('a chain that throws fails alone: the other rooms on its worker keep stepping', async () => {
    const good = room('good', 21, 'cat');
    const bad = room('bad', 22, 'dog');
    for (const r of [good, bad]) {
      positions.set(r.roomId, r);
      await pool.open(r);
    }
    await pool.setCode('bad', new Float32Array(3));
    const res = await pool.step(['good', 'bad']);
    const byId = Object.fromEntries(res.map((r) => [r.roomId, r]));
    expect(byId.bad).toMatchObject({
      ok: false,
      error: expect.stringMatching(/chain bad has a code of the wrong size \(expected 16\)/),
    });
    expect(byId.good).toMatchObject({ ok: true, step: 1 });
    // a room the sampler does not know fails alone too (same answer in-process and in workers)
    for (const s of [pool, local] as Sampler[]) {
      if (s === local) await local.open(good);
      const again = Object.fromEntries((await s.step(['good', 'nowhere'])).map((r) => [r.roomId, r]));
      expect(again.nowhere).toEqual({
        roomId: 'nowhere',
        ok: false,
        error: 'room nowhere has no chain in this sampler',
      });
      expect(again.good).toMatchObject({ ok: true, step: s === local ? 1 : 2 });
    }
  });

  it('a worker that dies is started again and its rooms go on from their last step, as if nothing happened', async () => {
    const r = room('phoenix', 31, 'star');
    positions.set(r.roomId, r);
    await local.open(r);
    await pool.open(r);
    const reference: ReturnType<typeof bytes>[] = [];
    for (let i = 0; i < 8; i++) reference.push(...okOnly(await local.step(['phoenix'])).map(bytes));
    const got: ReturnType<typeof bytes>[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await pool.step(['phoenix']);
      remember(res);
      got.push(...okOnly(res).map(bytes));
    }
    const index = pool.workerOf('phoenix')!;
    const before = pool.thread(index);
    await before.terminate(); // what a crash looks like from the main thread
    // while the worker restarts its rooms skip their steps; then the room steps again from step 4
    let res: StepResult[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      res = await pool.step(['phoenix']);
      if (res[0]?.ok) break;
      expect(res[0]).toMatchObject({ ok: false, retry: true });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(pool.thread(index)).not.toBe(before);
    expect(res[0]).toMatchObject({ ok: true, step: 5 });
    remember(res);
    got.push(...okOnly(res).map(bytes));
    for (let i = 0; i < 3; i++) got.push(...okOnly(await pool.step(['phoenix'])).map(bytes));
    expect(got).toEqual(reference);
  });

  it('refuses calls once closed', async () => {
    const p = await WorkerPool.start({
      workers: 1,
      backend: 'onnx',
      packDirs: new Map([['testpack', path.join(dir, 'testpack')]]),
      restore: () => null,
    });
    await p.open(room('x', 1, 'cat'));
    const inFlight = p.step(['x']);
    await p.close();
    // a step in flight is dropped (or had already finished)
    const [settled] = await Promise.allSettled([inFlight]);
    if (settled!.status === 'rejected') expect(String(settled!.reason)).toMatch(/shut down/);
    await expect(p.step(['x'])).rejects.toThrow(/shut down/);
  });
});
