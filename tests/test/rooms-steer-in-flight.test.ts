// A change that lands while its room's step is in flight: that step was sent under the old version, so the
// change must show in the very next tick — not one frame period later (a slow room would wait a whole second).
// The scheduler is driven by hand here, and the sampler call is watched, so the change lands mid-step every time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startTestEngine('steer-in-flight', { samplerWorkers: 0 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('a room steered while its step is in flight', () => {
  it('is stepped again at the next tick; a room left alone waits for its frame period', async () => {
    const r = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
      author: 'a',
      name: 'one frame a second',
      params: { fps: 1 },
    });
    const c = new TestClient(t.base);
    clients.push(c);
    expect((await c.join(r.body.id, r.body.tokens.owner, 'A')).ok).toBe(true);
    const { manager } = t.engine;
    const room = manager.rooms.get(r.body.id)!;
    const scheduler = manager.scheduler;
    scheduler.stop();
    await manager.exclusive(async () => {}); // a tick of the running clock has finished
    const actor = { userId: c.userId!, name: 'A', role: 'owner' as const };

    const sampler = manager.sampler;
    const step = sampler.step;
    let inFlight: (() => void) | undefined;
    sampler.step = (ids) => {
      const result = step.call(sampler, ids);
      inFlight?.();
      return result;
    };
    try {
      // a step of a room nobody touches: the next tick leaves it alone (its next frame is a second away)
      room.nextDue = Date.now();
      expect(await scheduler.tick()).toBe(1);
      expect(await scheduler.tick()).toBe(0);

      // the same, but a change lands while the step is in flight
      room.nextDue = Date.now();
      const started = new Promise<void>((resolve) => (inFlight = resolve));
      const ticking = scheduler.tick();
      await started;
      const patch = await room.steer(actor, { type: 'params.set', params: { eps3: 0.02 } });
      expect(await ticking).toBe(1);
      // that step's frame was sent under the version before the change
      expect(room.lastFrame!.version).toBeLessThan(patch.version);
      // the next tick steps it again, and its frame carries the change
      expect(await scheduler.tick()).toBe(1);
      expect(room.lastFrame!.version).toBeGreaterThanOrEqual(patch.version);
      // and then the room is back on its frame period
      expect(await scheduler.tick()).toBe(0);
    } finally {
      sampler.step = step;
      scheduler.start();
    }
  });
});
