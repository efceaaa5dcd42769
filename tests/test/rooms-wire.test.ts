// What a busy room keeps for clients that reconnect (issue 19, item 3): Socket.IO's connection-state recovery
// holds every non-volatile broadcast for two minutes. Pictures travel by reference (an image condition's PNG is
// fetched once, by its hash), cursor presence is volatile, and frames were already: one editor adding and
// removing large reference images and moving the cursor leaves a small buffer. Real engine, real Postgres.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../packages/ppgn/src/image';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startTestEngine('wire', { intentRate: 200, presenceRate: 200 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

/** a noisy 100×100 PNG (≈ 40 KB of base64: close to the reference-image limit) */
function noisyPng(seed: number): string {
  const N = 100;
  const data = new Float32Array(N * N * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = ((s >> 16) & 255) / 255;
  }
  return Buffer.from(encodePng({ shape: [N, N, 3], data })).toString('base64');
}

describe('the recovery buffer of a busy room', () => {
  it('holds references, not pictures, and no cursor moves: 40 large image changes and 200 cursor moves stay under 150 KB', async () => {
    const created = await api<{ id: string; tokens: { owner: string; viewer: string } }>(t.base, 'POST', '/rooms', {
      author: 'a',
      running: false,
    });
    const room = created.body;
    const ed = new TestClient(t.base);
    const watcher = new TestClient(t.base);
    clients.push(ed, watcher);
    await ed.join(room.id, room.tokens.owner, 'Ed');
    await watcher.join(room.id, room.tokens.viewer, 'Wat');
    const adapter = t.engine.server.io.of('/').adapter as unknown as { packets: { data: unknown[] }[] };
    const bytes = () => adapter.packets.reduce((n, p) => n + JSON.stringify(p.data).length, 0);
    const before = bytes();
    const pictures = [noisyPng(1), noisyPng(2)];
    expect(pictures[0]!.length).toBeGreaterThan(35_000);
    for (let i = 0; i < 20; i++) {
      const png = pictures[i % 2]!;
      expect(
        await ed.intent({
          type: 'condition.add',
          id: `ref${i}`,
          target: { kind: 'image', png, name: `ref ${i}` },
        } as never),
      ).toMatchObject({ ok: true });
      if (i === 19) break;
      expect(await ed.intent({ type: 'condition.remove', id: `ref${i}` } as never)).toMatchObject({ ok: true });
    }
    for (let i = 0; i < 200; i++) ed.socket.emit('room:presence', { cursor: [(i % 100) / 100, 0.5] });
    await watcher.waitFor(
      () => watcher.state?.version === ed.state?.version && watcher.state?.conditions.length === 1,
      10_000,
      'the watcher in step',
    );
    const held = bytes() - before;
    expect(held).toBeLessThan(150_000); // was ≈ 20 × 40 KB of pictures plus every cursor move
    expect(adapter.packets.filter((p) => p.data[0] === 'room:members').length).toBeLessThan(5);
    // the client's state names the picture by reference; the engine serves it, byte for byte
    const ref = (watcher.state!.conditions[0]!.target as { png: string }).png;
    const last = pictures[19 % 2]!;
    expect(ref).toBe(`sha256:${createHash('sha256').update(last).digest('hex')}`);
    const got = await api<ArrayBuffer>(
      t.base,
      'GET',
      `/rooms/${room.id}/pictures/${encodeURIComponent(ref)}.png?token=${room.tokens.viewer}`,
    );
    expect(got.status).toBe(200);
    expect(Buffer.from(got.body).toString('base64')).toBe(last);
    expect(
      (await api(t.base, 'GET', `/rooms/${room.id}/pictures/${encodeURIComponent(ref)}.png?token=nope`)).status,
    ).toBe(403);
    const gone = `sha256:${createHash('sha256').update(pictures[0]!).digest('hex')}`;
    expect(
      (
        await api(
          t.base,
          'GET',
          `/rooms/${room.id}/pictures/${encodeURIComponent(gone)}.png?token=${room.tokens.viewer}`,
        )
      ).status,
    ).toBe(404);
    // the engine's own state keeps the picture (the sampler and the gallery use it)
    expect((t.engine.manager.get(room.id).model.state.conditions[0]!.target as { png: string }).png).toBe(last);
  });
});

describe('what the sampler is sent for a steering change (issue 20)', () => {
  it('one more stroke sends that stroke to the sampler worker, not the room’s other strokes and pictures', async () => {
    const created = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
      author: 'a',
      running: false,
    });
    const room = created.body;
    const ed = new TestClient(t.base);
    clients.push(ed);
    await ed.join(room.id, room.tokens.owner, 'Ed');
    const stroke = (i: number) => ({
      id: `s${i}`,
      erase: false,
      radius: 0.05,
      points: Array.from({ length: 200 }, (_, k) => [(k % 100) / 100, ((i * 7 + k) % 100) / 100] as [number, number]),
    });
    const png = noisyPng(3);
    expect(
      await ed.intent({ type: 'condition.add', id: 'ref', target: { kind: 'image', png, name: 'ref' } } as never),
    ).toMatchObject({ ok: true });
    for (let i = 0; i < 40; i++)
      expect(await ed.intent({ type: 'mask.stroke', stroke: stroke(i) } as never)).toMatchObject({ ok: true });
    const traffic = t.engine.manager.sampler.traffic;
    const before = { ...traffic };
    expect(await ed.intent({ type: 'mask.stroke', stroke: stroke(40) } as never)).toMatchObject({ ok: true });
    const sent = traffic.updateBytes - before.updateBytes;
    const oneStroke = JSON.stringify(stroke(40)).length;
    const wholeState = JSON.stringify(t.engine.manager.get(room.id).model.state.strokes).length + png.length;
    expect(traffic.updates - before.updates).toBe(1);
    expect(sent).toBeGreaterThan(oneStroke * 0.9);
    expect(sent).toBeLessThan(oneStroke * 1.5);
    expect(wholeState).toBeGreaterThan(sent * 40);
  });
});
