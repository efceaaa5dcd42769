// 10k random and mutated payloads over every socket event and the HTTP API: zero crashes,
// every bad one answered with an error, the engine still serves valid requests afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
beforeAll(async () => {
  t = await startTestEngine('fuzz', { intentRate: 1e9 });
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
  'condition.add', 'condition.update', 'condition.remove', 'params.set', 'run.set', 'chain.step', 'chain.reset',
  'mask.stroke', 'mask.clear', 'mask.context', 'room.rename', 'room.lock', 'undo', 'redo', 'bogus',
];

function fuzzValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 14);
  switch (k) {
    case 0: return null;
    case 1: return undefined;
    case 2: return r() * 2e6 - 1e6;
    case 3: return [NaN, Infinity, -Infinity, -1, 0, 1, 2 ** 53, 0.5][Math.floor(r() * 8)];
    case 4: return 'x'.repeat(Math.floor(r() * 3) === 0 ? 5000 : Math.floor(r() * 20));
    case 5: return ['cat', 'dog', 'class', 'keywords', 'units', 'conv1', '', '__proto__', 'constructor'][Math.floor(r() * 9)];
    case 6: return r() < 0.5;
    case 7: return depth < 3 ? Array.from({ length: Math.floor(r() * 5) }, () => fuzzValue(r, depth + 1)) : [];
    case 8: return depth < 3 ? Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}`, fuzzValue(r, depth + 1)])) : {};
    case 9: return Array.from({ length: 300 }, () => [r(), r()]);
    case 10: return { kind: ['class', 'text', 'unit', 'nope'][Math.floor(r() * 4)], condition: fuzzValue(r, depth + 1), labels: fuzzValue(r, depth + 1), text: fuzzValue(r, depth + 1), layer: 'conv1', channel: Math.floor(r() * 40) - 5 };
    case 11: return { id: `s${Math.floor(r() * 50)}`, erase: r() < 0.3, radius: r() * 0.6, points: [[r() * 1.2, r()]] };
    case 12: return Math.floor(r() * 100);
    default: return `c${Math.floor(r() * 10)}`;
  }
}

function fuzzIntent(r: () => number): unknown {
  if (r() < 0.1) return fuzzValue(r);
  const o: Record<string, unknown> = { type: TYPES[Math.floor(r() * TYPES.length)] };
  for (const key of ['id', 'target', 'weight', 'enabled', 'params', 'running', 'steps', 'seed', 'stroke', 'useCurrentFrame', 'name', 'locked']) {
    if (r() < 0.35) o[key] = key === 'params' && r() < 0.6 ? { [['eps1', 'eps2', 'eps3', 'lr', 'fps', 'mode', 'seed'][Math.floor(r() * 7)]!]: fuzzValue(r) } : fuzzValue(r);
  }
  return o;
}

describe('fuzzing', () => {
  it('survives 10k random payloads with zero crashes', async () => {
    const room = (await api<{ id: string; tokens: { owner: string; editor: string; viewer: string } }>(t.base, 'POST', '/rooms', { author: 'f', params: { fps: 30 } })).body;
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
    for (let i = 0; i < N; i++) {
      const who = [owner, editor, viewer][i % 3]!;
      const kind = r();
      if (kind < 0.8) {
        batch.push(
          who.socket.timeout(20_000).emitWithAck('room:intent', fuzzIntent(r) as never).then((res: { ok: boolean; error?: string }) => {
            if (res.ok) ok++;
            else {
              refused++;
              expect(typeof res.error).toBe('string');
              expect(res.error!.length).toBeGreaterThan(0);
            }
          }),
        );
      } else if (kind < 0.9) {
        who.socket.emit('room:presence', fuzzValue(r) as never);
        refused++;
      } else if (kind < 0.95) {
        batch.push(who.socket.timeout(20_000).emitWithAck('room:admin', fuzzValue(r) as never).then(() => refused++));
      } else {
        // raw HTTP garbage
        const paths = ['/rooms', '/gallery', '/gallery/mix', `/rooms/${room.id}/fork`, '/gallery?limit=abc', `/rooms/${room.id}/history/xyz.png?token=${room.tokens.viewer}`];
        const p = paths[Math.floor(r() * paths.length)]!;
        batch.push(
          fetch(t.base + p, { method: p.includes('?') ? 'GET' : 'POST', headers: { 'content-type': 'application/json' }, body: p.includes('?') ? undefined : JSON.stringify(fuzzValue(r)) }).then((res) => {
            expect(res.status).toBeLessThan(500);
            refused++;
          }),
        );
      }
      if (batch.length >= 200) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    expect(ok + refused).toBe(N);
    expect(ok).toBeGreaterThan(0);
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
