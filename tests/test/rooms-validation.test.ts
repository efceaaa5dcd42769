// A change is checked against the whole state the sampler will run (issue 19, item 8): a pair of image
// references, or fast mode with a keyword condition, is refused with a message before it applies; and a
// stored state the sampler refuses (saved by an older engine) still opens after a restart, paused with the
// reason, instead of answering 404. Real engine, real Postgres.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../packages/ppgn/src/image';
import { api, startTestEngine, TestClient } from '../support/engine';
import { tempDir } from '../support/procs';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];
const client = (base = t.base) => {
  const c = new TestClient(base);
  clients.push(c);
  return c;
};
interface Created {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
}
const createRoom = async (base: string, body: object = {}) => {
  const r = await api<Created>(base, 'POST', '/rooms', { author: 'tester', ...body });
  expect(r.status).toBe(201);
  return r.body;
};
/** a small PNG, base64: a disc of one colour */
const disc = (rgb: [number, number, number]) => {
  const N = 12;
  const data = new Float32Array(N * N * 3).fill(1);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) if ((x - 6) ** 2 + (y - 6) ** 2 < 16) data.set(rgb, (y * N + x) * 3);
  return Buffer.from(encodePng({ shape: [N, N, 3], data })).toString('base64');
};

beforeAll(async () => {
  t = await startTestEngine('validation');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('changes are checked as the sampler will run them', () => {
  it('refuses a second image reference and fast mode with a keyword condition, and leaves the state as it was', async () => {
    const room = await createRoom(t.base, { running: false });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const first = { type: 'condition.add', id: 'red', target: { kind: 'image', png: disc([1, 0, 0]), name: 'red' } };
    expect(await owner.intent(first as never)).toMatchObject({ ok: true });
    const second = await owner.intent({
      type: 'condition.add',
      id: 'blue',
      target: { kind: 'image', png: disc([0, 0, 1]), name: 'blue' },
    } as never);
    expect(second).toMatchObject({
      ok: false,
      error: 'only one image reference per layer is supported; the change was not applied',
    });
    expect(t.engine.manager.get(room.id).model.state.conditions.map((c) => c.id)).toEqual(['red']);
    // each alone is fine: removing the first lets someone else's in
    expect(await owner.intent({ type: 'condition.remove', id: 'red' } as never)).toMatchObject({ ok: true });
    const ed = client();
    await ed.join(room.id, room.tokens.editor, 'Ed');
    expect(
      await ed.intent({
        type: 'condition.add',
        id: 'blue',
        target: { kind: 'image', png: disc([0, 0, 1]), name: 'blue' },
      } as never),
    ).toMatchObject({ ok: true });
    // the owner undoing their removal would bring the pair back: refused, and the undo stays on their stack
    const undo = await owner.intent({ type: 'undo' } as never);
    expect(undo).toMatchObject({
      ok: false,
      error: 'only one image reference per layer is supported; the change was not applied',
    });
    expect(t.engine.manager.get(room.id).model.state.conditions.map((c) => c.id)).toEqual(['blue']);
    expect(await ed.intent({ type: 'condition.remove', id: 'blue' } as never)).toMatchObject({ ok: true });
    expect(await owner.intent({ type: 'undo' } as never)).toMatchObject({ ok: true });
    expect(t.engine.manager.get(room.id).model.state.conditions.map((c) => c.id)).toEqual(['red']);
    // fast mode steers by the class head only
    expect(await owner.intent({ type: 'condition.remove', id: 'red' } as never)).toMatchObject({ ok: true });
    expect(
      await owner.intent({
        type: 'condition.add',
        id: 'kw',
        target: { kind: 'text', condition: 'keywords', text: 'happy red' },
      } as never),
    ).toMatchObject({ ok: true });
    const fast = await owner.intent({ type: 'params.set', params: { mode: 'fast' } } as never);
    expect(fast).toMatchObject({
      ok: false,
      error: expect.stringMatching(
        /^fast mode supports class conditions only \(got text\); the change was not applied$/,
      ),
    });
    expect(t.engine.manager.get(room.id).model.state.params.mode).toBe('ppgn');
    // and the other way round: in fast mode, adding a keyword condition is refused
    expect(await owner.intent({ type: 'condition.remove', id: 'kw' } as never)).toMatchObject({ ok: true });
    expect(await owner.intent({ type: 'params.set', params: { mode: 'fast' } } as never)).toMatchObject({ ok: true });
    expect(
      await owner.intent({
        type: 'condition.add',
        id: 'kw2',
        target: { kind: 'text', condition: 'keywords', text: 'happy red' },
      } as never),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/fast mode supports class conditions only/),
    });
  });

  it('a stored state the sampler refuses opens after a restart with its chain paused and the reason, not a 404; fixing it resumes sampling', async () => {
    const tmp = tempDir('validation-restart');
    const dataDir = path.join(tmp.dir, 'pg');
    let e = await startTestEngine('validation-a', { dataDir });
    const local: TestClient[] = [];
    try {
      const room = await createRoom(e.base, { params: { fps: 30 } });
      const owner = new TestClient(e.base);
      local.push(owner);
      await owner.join(room.id, room.tokens.owner, 'Olga');
      expect(
        await owner.intent({
          type: 'condition.add',
          id: 'red',
          target: { kind: 'image', png: disc([1, 0, 0]), name: 'red' },
        } as never),
      ).toMatchObject({ ok: true });
      await owner.waitFor(() => e.engine.manager.unsaved() === 0, 10_000, 'the state stored');
      // an older engine stored a pair of image references
      const row = await e.engine.db.prisma.room.findUniqueOrThrow({ where: { id: room.id } });
      const state = row.state as { conditions: { id: string; target: { name: string } }[] };
      state.conditions.push({ ...structuredClone(state.conditions[0]!), id: 'red2' });
      await e.engine.db.prisma.room.update({ where: { id: room.id }, data: { state: state as object } });
      owner.close();
      await e.close();

      e = await startTestEngine('validation-b', { dataDir });
      const seen = await api<{ state: { conditions: { id: string }[] } }>(
        e.base,
        'GET',
        `/rooms/${room.id}?token=${room.tokens.owner}`,
      );
      expect(seen.status).toBe(200);
      expect(seen.body.state.conditions.map((c) => c.id)).toEqual(['red', 'red2']);
      const back = new TestClient(e.base, { credential: owner.credential });
      local.push(back);
      expect(await back.join(room.id, room.tokens.owner, 'Olga')).toMatchObject({ ok: true, role: 'owner' });
      await back.waitFor(() => back.errorEvents.some((x) => x.intent === 'chain'), 10_000, 'the paused chain reported');
      expect(back.errorEvents.find((x) => x.intent === 'chain')!.error).toMatch(
        /saved conditions cannot be sampled \(only one image reference per layer is supported\)/,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(back.frames.filter((f) => f.step > 0)).toEqual([]);
      // removing one of the pair brings the chain back
      expect(await back.intent({ type: 'condition.remove', id: 'red2' } as never)).toMatchObject({ ok: true });
      await back.waitFor(() => back.frames.some((f) => f.step > 2), 20_000, 'frames after the fix');
    } finally {
      for (const c of local) c.close();
      await e.close();
      tmp.remove();
    }
  });

  it('the activity log keeps pictures by reference and prunes old entries: 40 image changes leave small rows, at most the kept number', async () => {
    const tmp = tempDir('validation-activity');
    const e = await startTestEngine('validation-c', {
      dataDir: path.join(tmp.dir, 'pg'),
      activityKeep: 20,
      intentRate: 100,
    });
    const c = new TestClient(e.base);
    try {
      const room = await createRoom(e.base, { running: false });
      await c.join(room.id, room.tokens.owner, 'Olga');
      const png = disc([1, 0.5, 0]);
      for (let i = 0; i < 20; i++) {
        expect(
          await c.intent({
            type: 'condition.add',
            id: `img${i}`,
            target: { kind: 'image', png, name: `n${i}` },
          } as never),
        ).toMatchObject({ ok: true });
        expect(await c.intent({ type: 'condition.remove', id: `img${i}` } as never)).toMatchObject({ ok: true });
      }
      await c.waitFor(() => e.engine.manager.unsaved() === 0, 10_000, 'the log written');
      const rows = await e.engine.db.prisma.activityEntry.findMany({
        where: { roomId: room.id },
        orderBy: { version: 'asc' },
      });
      expect(rows.length).toBeLessThanOrEqual(20);
      expect(rows.at(-1)!.version).toBe(40);
      expect(rows[0]!.version).toBeGreaterThan(20);
      for (const r of rows) expect(JSON.stringify(r.payload).length).toBeLessThan(1000);
      const add = rows.find((r) => r.kind === 'condition.add')!.payload as {
        intent: { target: { png: { sha256: string; base64Bytes: number } } };
      };
      expect(add.intent.target.png).toEqual({
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        base64Bytes: png.length,
      });
    } finally {
      c.close();
      await e.close();
      tmp.remove();
    }
  });
});
