// Rooms people can trust: HTTP rate limits, idle rooms stop sampling, a failing chain is
// quarantined while the other rooms keep going. Real engine, real Postgres, socket.io clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '@ppgn/shared';
import { api, person, startTestEngine, TestClient } from '../support/engine';

const IDLE_MS = 500;
const WINDOW_MS = 5000;
let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];
const client = () => {
  const c = new TestClient(t.base);
  clients.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Created {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
}

async function createRoom(body: object = {}): Promise<Created> {
  const conditions = [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }];
  const res = await api<Created>(t.base, 'POST', '/rooms', {
    author: 'tester',
    params: { fps: 30 },
    conditions,
    ...body,
  });
  expect(res.status).toBe(201);
  return res.body;
}
const stepOf = (id: string) => t.engine.manager.get(id).chain.step;

beforeAll(async () => {
  t = await startTestEngine('trust', {
    idleMs: IDLE_MS,
    httpLimits: { windowMs: WINDOW_MS, rooms: 5, saves: 2, stars: 3, renders: 4 },
  });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('HTTP rate limits', () => {
  it('answers 429 with a JSON error past the limit, per kind of request, and lets normal use through', async () => {
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        api<{ id?: string; error?: { code: string; message: string } }>(t.base, 'POST', '/rooms', {
          author: 'burst',
          running: false,
        }),
      ),
    );
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    expect(burst.find((r) => r.status === 429)!.body).toEqual({
      error: {
        code: 'rate_limited',
        message: 'too many new rooms from this address (at most 5 per 5 s); try again shortly',
      },
    });
    // other routes have their own budgets, and reads are not limited
    expect((await api(t.base, 'GET', '/health')).status).toBe(200);
    const room = burst.find((r) => r.status === 201)!.body as Created;
    const burster = await person(t.base, 'burst');
    const save = () =>
      api<{ id: string; error?: { code: string; message: string } }>(
        t.base,
        'POST',
        '/gallery',
        { roomId: room.id, token: room.tokens.editor },
        burster,
      );
    const first = await save();
    expect(first.status).toBe(201);
    expect((await save()).status).toBe(201);
    const third = await save();
    expect(third.status).toBe(429);
    expect(third.body.error?.message).toMatch(/^too many gallery saves from this address/);
    const stars = await Promise.all(
      Array.from({ length: 5 }, () => api(t.base, 'POST', `/gallery/${first.body.id}/star`, {})),
    );
    expect(stars.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429]);
    expect((await api<{ stars: number }>(t.base, 'GET', `/gallery/${first.body.id}`)).body.stars).toBe(3);
    // after the window, creating a room works again
    await sleep(WINDOW_MS + 200);
    expect((await api(t.base, 'POST', '/rooms', { author: 'later', running: false })).status).toBe(201);
  });
});

describe('pictures rendered on request', () => {
  it('history frames and unit previews not made yet are rate-limited per address (each its own budget); cached previews are free', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Owner');
    await owner.waitFor(() => owner.frames.length >= 3, 20_000, 'frames');
    const history = await api<{ steps: number[] }>(
      t.base,
      'GET',
      `/rooms/${room.id}/history?token=${room.tokens.viewer}`,
    );
    const step = history.body.steps[0] ?? 0;
    const frame = () => fetch(`${t.base}/rooms/${room.id}/history/${step}.png?token=${room.tokens.viewer}`);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await frame()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await frame();
    expect(await refused.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: 'too many rendered pictures from this address (at most 4 per 5 s); try again shortly',
      },
    });
    // unit previews: the first of each unit costs a chain; asking again for one already made does not count
    const packs = await api<{ id: string; conditions: { id: string; kind: string }[] }[]>(t.base, 'GET', '/packs');
    const units = packs.body[0]!.conditions.find((c) => c.kind === 'units')!;
    const layer = t.engine.manager.get(room.id).pack.manifest.conditions.find((c) => c.id === units.id)!;
    const name = (layer as { layers: { name: string }[] }).layers[0]!.name;
    const preview = (ch: number) => fetch(`${t.base}/packs/${packs.body[0]!.id}/units/${units.id}/${name}/${ch}.png`);
    expect((await preview(0)).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await preview(0)).status).toBe(200);
    const fresh: number[] = [];
    for (let ch = 1; ch <= 4; ch++) fresh.push((await preview(ch)).status);
    expect(fresh).toEqual([200, 200, 200, 429]);
    owner.close();
  });
});

describe('idle rooms', () => {
  it('stop sampling once nobody has been connected for the idle time, and resume on join', async () => {
    const room = await createRoom();
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 3, 20_000, 'frames');
    a.close();
    // the room goes idle once the engine has seen the last client leave and the idle time passed
    const manager = t.engine.manager;
    await a.waitFor(() => manager.get(room.id).idle(), 10_000, 'the room to go idle');
    await manager.exclusive(() => {}); // a tick that was already under way finishes
    const s1 = stepOf(room.id);
    await sleep(2000);
    expect(stepOf(room.id)).toBe(s1);
    const b = client();
    await b.join(room.id, room.tokens.viewer, 'Ben');
    await b.waitFor(() => b.frames.some((f) => f.step >= s1 + 5), 20_000, 'frames after the join');
    expect(stepOf(room.id)).toBeGreaterThanOrEqual(s1 + 5);
  });
});

describe('socket rate limits', () => {
  it('bind to the person, not the connection, and presence has a bucket of its own', async () => {
    const room = await createRoom();
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    // the same person in a second tab (same credential): one budget for both
    const a2 = new TestClient(t.base, { credential: a.credential });
    clients.push(a2);
    await a2.join(room.id, room.tokens.owner, 'Ann');
    expect(a2.userId).toBe(a.userId);
    const burst = (c: TestClient, n: number, from: number) =>
      Promise.all(
        Array.from(
          { length: n },
          (_, i) =>
            c.intent({ type: 'params.set', params: { eps3: 0.2 + 0.001 * (from + i) } }) as Promise<{ ok: boolean }>,
        ),
      );
    const [r1, r2] = await Promise.all([burst(a, LIMITS.intentsPerSecond, 0), burst(a2, LIMITS.intentsPerSecond, 100)]);
    const accepted = [...r1, ...r2].filter((r) => r.ok).length;
    // per connection, both bursts would pass in full (2 × the rate); per person about one rate's worth does
    expect(accepted).toBeLessThan(1.5 * LIMITS.intentsPerSecond);
    expect(accepted).toBeGreaterThanOrEqual(LIMITS.intentsPerSecond);
    await sleep(1100);
    // a flood of cursor moves does not use up the budget for changes
    for (let i = 0; i < 200; i++) a.socket.emit('room:presence', { cursor: [i / 200, 0.5] });
    await sleep(100);
    expect(await a.intent({ type: 'params.set', params: { eps3: 0.5 } })).toMatchObject({ ok: true });
    a.close();
    a2.close();
  });
});

describe('socket limits for admin actions and joins', () => {
  it('refuses admin actions naming a huge user id, counts them in the change budget, and limits re-joins on one connection', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Owner');
    const admin = (a: object) =>
      owner.socket.timeout(10_000).emitWithAck('room:admin', a as never) as Promise<{ ok: boolean; error?: string }>;
    // a 1.9 MB user id was stored in the room's roles (and written to Postgres) before
    expect(await admin({ type: 'role', userId: 'x'.repeat(1_900_000), role: 'viewer' })).toEqual({
      ok: false,
      error: 'userId: user ids are at most 64 characters',
    });
    await sleep(1100);
    // grants share the budget of changes: a burst past it is refused
    const grants = await Promise.all(
      Array.from({ length: 3 * LIMITS.intentsPerSecond }, (_, i) =>
        admin({ type: 'role', userId: `p${String(i).padStart(16, '0')}`, role: 'viewer' }),
      ),
    );
    const refused = grants.filter((g) => !g.ok);
    expect(refused.length).toBeGreaterThanOrEqual(LIMITS.intentsPerSecond);
    expect(refused[0]!.error).toBe('too many changes per second; slow down');
    // a viewer re-joining in a loop on one connection: each join broadcast the member list to everyone
    const viewer = client();
    await viewer.join(room.id, room.tokens.viewer, 'Vic');
    await sleep(1100);
    const rejoins: { ok: boolean; code?: string; error?: string }[] = [];
    for (let i = 0; i < 20; i++)
      rejoins.push(
        await (viewer.socket
          .timeout(10_000)
          .emitWithAck('room:join', { roomId: room.id, token: room.tokens.viewer, name: 'Vic' } as never) as Promise<{
          ok: boolean;
          code?: string;
          error?: string;
        }>),
      );
    const limited = rejoins.filter((r) => !r.ok && r.code === 'rate_limited');
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(limited[0]!.error).toBe('too many joins on this connection; wait a moment and join again');
    owner.close();
    viewer.close();
  });
});

describe('a chain that throws', () => {
  it('is quarantined with an error for its clients while the other rooms keep advancing, and recovers on reset', async () => {
    const good = await createRoom();
    const bad = await createRoom();
    const g = client();
    const b = client();
    await g.join(good.id, good.tokens.owner, 'Gia');
    await b.join(bad.id, bad.tokens.owner, 'Bo');
    await g.waitFor(() => g.frames.length >= 2, 20_000, 'good frames');
    await b.waitFor(() => b.frames.length >= 2, 20_000, 'bad frames');
    // break the bad room's chain (a code of the wrong size makes the sampler throw)
    await t.engine.manager.get(bad.id).setCode(new Float32Array(3));
    await b.waitFor(() => b.errors.length > 0, 10_000, 'the chain error');
    expect(b.errors[0]).toMatch(
      /^the sampler failed on this room and paused it: chain .* has a code of the wrong size \(expected 16\); change a condition/,
    );
    expect(g.errors).toEqual([]);
    const badStep = stepOf(bad.id);
    const goodStep = stepOf(good.id);
    const goodFrames = g.frames.length;
    await g.waitFor(
      () => stepOf(good.id) > goodStep + 5 && g.frames.length > goodFrames + 5,
      30_000,
      'the good room to keep going',
    );
    expect(stepOf(bad.id)).toBe(badStep);
    // someone joining later is told too
    const late = client();
    await late.join(bad.id, bad.tokens.viewer, 'Late');
    await late.waitFor(() => late.errors.length > 0, 5000, 'the chain error on join');
    expect(late.errors[0]).toBe(b.errors[0]);
    // a reset gives the room a fresh chain: it samples again
    expect(await b.intent({ type: 'chain.reset' })).toMatchObject({ ok: true });
    await b.waitFor(() => stepOf(bad.id) >= 5, 20_000, 'the bad room to advance again');
  });
});
