// 10k random and mutated payloads over every socket event and the HTTP API: zero crashes, every
// payload's outcome checked (accepted ones are valid per the zod schemas, refused ones get an error
// reply naming the problem), the engine still serves valid requests afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminAction, Intent, PresenceUpdate, describeZodError } from '@ppgn/shared';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
beforeAll(async () => {
  const many = 1e9; // no rate limits: every payload must reach the validation it fuzzes
  t = await startTestEngine('fuzz', {
    intentRate: many,
    presenceRate: many,
    httpLimits: { rooms: many, saves: many, stars: many, remixes: many, exports: many, uploads: many },
  });
});
afterAll(async () => t?.close());

/** small deterministic PRNG so a failure can be replayed */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = [
  'condition.add',
  'condition.update',
  'condition.remove',
  'params.set',
  'run.set',
  'chain.step',
  'chain.reset',
  'mask.stroke',
  'mask.clear',
  'mask.context',
  'room.rename',
  'room.lock',
  'undo',
  'redo',
  'bogus',
];

function fuzzValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 14);
  switch (k) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return r() * 2e6 - 1e6;
    case 3:
      return [NaN, Infinity, -Infinity, -1, 0, 1, 2 ** 53, 0.5][Math.floor(r() * 8)];
    case 4:
      return 'x'.repeat(Math.floor(r() * 3) === 0 ? 5000 : Math.floor(r() * 20));
    case 5:
      return ['cat', 'dog', 'class', 'keywords', 'units', 'conv1', '', '__proto__', 'constructor'][Math.floor(r() * 9)];
    case 6:
      return r() < 0.5;
    case 7:
      return depth < 3 ? Array.from({ length: Math.floor(r() * 5) }, () => fuzzValue(r, depth + 1)) : [];
    case 8:
      return depth < 3
        ? Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}`, fuzzValue(r, depth + 1)]))
        : {};
    case 9:
      return Array.from({ length: 300 }, () => [r(), r()]);
    case 10:
      return {
        kind: ['class', 'text', 'unit', 'nope'][Math.floor(r() * 4)],
        condition: fuzzValue(r, depth + 1),
        labels: fuzzValue(r, depth + 1),
        text: fuzzValue(r, depth + 1),
        layer: 'conv1',
        channel: Math.floor(r() * 40) - 5,
      };
    case 11:
      return { id: `s${Math.floor(r() * 50)}`, erase: r() < 0.3, radius: r() * 0.6, points: [[r() * 1.2, r()]] };
    case 12:
      return Math.floor(r() * 100);
    default:
      return `c${Math.floor(r() * 10)}`;
  }
}

function fuzzIntent(r: () => number): unknown {
  if (r() < 0.1) return fuzzValue(r);
  const o: Record<string, unknown> = { type: TYPES[Math.floor(r() * TYPES.length)] };
  for (const key of [
    'id',
    'target',
    'weight',
    'enabled',
    'params',
    'running',
    'steps',
    'seed',
    'stroke',
    'useCurrentFrame',
    'name',
    'locked',
  ]) {
    if (r() < 0.35)
      o[key] =
        key === 'params' && r() < 0.6
          ? { [['eps1', 'eps2', 'eps3', 'lr', 'fps', 'mode', 'seed'][Math.floor(r() * 7)]!]: fuzzValue(r) }
          : fuzzValue(r);
  }
  return o;
}

/** What the engine receives: socket.io and fetch send JSON (undefined → null, NaN/±Infinity → null). */
function wire(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null));
}

function fuzzAdmin(r: () => number, ownerId: string): unknown {
  if (r() < 0.3) return fuzzValue(r);
  const o: Record<string, unknown> = { type: ['kick', 'role', 'bogus'][Math.floor(r() * 3)] };
  // never a real member's id: a kick would end the fuzzing connections (self-kick is refused)
  if (r() < 0.9) o.userId = r() < 0.2 ? ownerId : r() < 0.8 ? `nobody${Math.floor(r() * 1000)}` : fuzzValue(r);
  if (r() < 0.8) o.role = r() < 0.8 ? ['owner', 'editor', 'viewer', 'god'][Math.floor(r() * 4)] : fuzzValue(r);
  return o;
}

describe('fuzzing', () => {
  it('survives 10k random payloads with zero crashes', async () => {
    const room = (
      await api<{ id: string; tokens: { owner: string; editor: string; viewer: string } }>(t.base, 'POST', '/rooms', {
        author: 'f',
        params: { fps: 30 },
      })
    ).body;
    const owner = new TestClient(t.base);
    const editor = new TestClient(t.base);
    const viewer = new TestClient(t.base);
    await owner.join(room.id, room.tokens.owner, 'Owner');
    await editor.join(room.id, room.tokens.editor, 'Editor');
    await viewer.join(room.id, room.tokens.viewer, 'Viewer');
    const r = rng(12345);
    let ok = 0;
    let refused = 0;
    const N = 10_000;
    const batch: Promise<unknown>[] = [];
    const presenceErrors = new Map<TestClient, string[]>([
      [owner, []],
      [editor, []],
      [viewer, []],
    ]);
    let presenceSent = 0;
    for (let i = 0; i < N; i++) {
      const who = [owner, editor, viewer][i % 3]!;
      const kind = r();
      if (kind < 0.8) {
        const payload = fuzzIntent(r);
        const expected = Intent.safeParse(wire(payload));
        batch.push(
          who.socket
            .timeout(20_000)
            .emitWithAck('room:intent', payload as never)
            .then((res: { ok: boolean; error?: string }) => {
              if (res.ok) {
                ok++;
                expect(expected.success, `accepted an invalid intent ${JSON.stringify(wire(payload))}`).toBe(true);
                if (who === viewer) throw new Error(`a viewer's intent was accepted: ${JSON.stringify(payload)}`);
              } else {
                refused++;
                if (!expected.success) expect(res).toEqual({ ok: false, error: describeZodError(expected.error) });
                expect(typeof res.error).toBe('string');
                expect(res.error!.length).toBeGreaterThan(0);
              }
            }),
        );
      } else if (kind < 0.9) {
        // no ack: a refused presence update is answered with room:error (intent "presence"), in order
        const payload = fuzzValue(r);
        const expected = PresenceUpdate.safeParse(wire(payload));
        if (expected.success) ok++;
        else {
          refused++;
          presenceErrors.get(who)!.push(describeZodError(expected.error));
        }
        presenceSent++;
        who.socket.emit('room:presence', payload as never);
      } else if (kind < 0.95) {
        const payload = fuzzAdmin(r, owner.userId);
        const parsed = AdminAction.safeParse(wire(payload));
        let want: { ok: boolean; error?: string };
        if (!parsed.success) want = { ok: false, error: describeZodError(parsed.error) };
        else if (who !== owner) want = { ok: false, error: 'only the owner can manage people' };
        else if (parsed.data.userId === owner.userId) want = { ok: false, error: 'you cannot do that to yourself' };
        else if (parsed.data.type === 'role' && parsed.data.role === 'owner')
          want = { ok: false, error: 'ownership cannot be handed over; share the owner link instead' };
        else want = { ok: true };
        batch.push(
          who.socket
            .timeout(20_000)
            .emitWithAck('room:admin', payload as never)
            .then((res: { ok: boolean; error?: string }) => {
              if (res.ok) ok++;
              else refused++;
              expect(res, `admin ${JSON.stringify(wire(payload))} from ${who.role}`).toMatchObject(want);
            }),
        );
      } else {
        // raw HTTP garbage: never a 5xx; a 2xx answers JSON with an id, a 4xx a JSON error
        const paths = [
          '/rooms',
          '/gallery',
          '/gallery/mix',
          `/rooms/${room.id}/fork`,
          '/gallery?limit=abc',
          `/rooms/${room.id}/history/xyz.png?token=${room.tokens.viewer}`,
        ];
        const p = paths[Math.floor(r() * paths.length)]!;
        batch.push(
          fetch(t.base + p, {
            method: p.includes('?') ? 'GET' : 'POST',
            headers: { 'content-type': 'application/json' },
            body: p.includes('?') ? undefined : JSON.stringify(fuzzValue(r)),
          }).then(async (res) => {
            expect(res.status).toBeLessThan(500);
            const body = (await res.json()) as { id?: unknown; error?: unknown };
            if (res.status < 300) {
              ok++;
              expect(typeof body.id, `${p} answered ${res.status}`).toBe('string');
            } else {
              refused++;
              expect(res.status).toBeGreaterThanOrEqual(400);
              const err = body.error as { code?: unknown; message?: unknown };
              expect(typeof err.code).toBe('string');
              expect(typeof err.message).toBe('string');
              expect((err.message as string).length).toBeGreaterThan(0);
            }
          }),
        );
      }
      if (batch.length >= 200) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    expect(ok + refused).toBe(N);
    expect(ok).toBeGreaterThan(0);
    expect(presenceSent).toBeGreaterThan(500);
    // every refused presence update got its error, in order, and no accepted one did
    for (const [c, want] of presenceErrors) {
      await c.waitFor(
        () => c.errorEvents.filter((e) => e.intent === 'presence').length >= want.length,
        20_000,
        'presence errors',
      );
      await new Promise((res) => setTimeout(res, 200));
      expect(c.errorEvents.filter((e) => e.intent === 'presence').map((e) => e.error)).toEqual(want);
    }
    for (const c of [owner, editor, viewer]) expect(c.socket.connected).toBe(true);
    // the engine is alive and still does the right thing
    const health = await api<{ ok: boolean }>(t.base, 'GET', '/health');
    expect(health.status).toBe(200);
    const valid = await owner.intent({ type: 'params.set', params: { eps1: 0.0123 } });
    expect(valid.ok).toBe(true);
    const fresh = new TestClient(t.base);
    const join = await fresh.join(room.id, room.tokens.viewer, 'Late');
    expect(join.ok).toBe(true);
    if (join.ok) expect(join.state!.params.eps1).toBe(0.0123);
    for (const c of [owner, editor, viewer, fresh]) c.close();
  });
});
