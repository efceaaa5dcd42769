// More rooms due than a tick steps (PPGN_MAX_BATCH per worker): a room someone just steered goes
// first, so steering shows in the next frame instead of after every other room's step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startTestEngine('priority', { samplerWorkers: 0 });
  t.engine.manager.scheduler.maxBatch = 1;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('a tick with more rooms due than it steps', () => {
  it('steps the steered room first', async () => {
    const rooms: { id: string; client: TestClient }[] = [];
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
        author: 'a',
        name: `r${i}`,
        params: { fps: 30 },
      });
      const c = new TestClient(t.base);
      clients.push(c);
      expect((await c.join(r.body.id, r.body.tokens.owner, 'A')).ok).toBe(true);
      c.socket.on('room:frame', (f) => order.push(f.roomId));
      rooms.push({ id: r.body.id, client: c });
    }
    // every room is overdue all the time (5 rooms × 30 fps on one tick of one room)
    await rooms[0]!.client.waitFor(() => order.length > 20, 20_000, 'frames');
    let between = 0;
    for (let k = 0; k < 6; k++) {
      const target = rooms[(k * 2) % rooms.length]!;
      const ack = (await target.client.intent({ type: 'params.set', params: { eps3: 0.02 + 0.001 * k } })) as {
        ok: boolean;
        version: number;
      };
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
      const mark = order.length;
      await target.client.waitFor(
        () => target.client.frames.some((f) => f.version >= ack.version),
        10_000,
        'the steered frame',
      );
      const first = order.indexOf(target.id, mark);
      // frames of other rooms that came between the ack and the steered room's frame: at most the one in flight
      between += order.slice(mark, first === -1 ? order.length : first).filter((id) => id !== target.id).length;
    }
    expect(between).toBeLessThanOrEqual(6);
  });
});
