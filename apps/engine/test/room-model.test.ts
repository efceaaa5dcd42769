import { describe, expect, it } from 'vitest';
import { Intent, applyPatch, type IntentInput, type RoomState } from '@ppgn/shared';
import { HISTORY_BYTES, RoomError, RoomModel, type Actor } from '../src/rooms/model';
import { newRoomState } from '../src/rooms/defaults';

const owner: Actor = { userId: 'alice', name: 'Alice', role: 'owner' };
const editor: Actor = { userId: 'bob', name: 'Bob', role: 'editor' };
const viewer: Actor = { userId: 'vic', name: 'Vic', role: 'viewer' };
const labels = ['cat', 'dog', 'tree'];

function model() {
  return new RoomModel(newRoomState('r', 'Room', 'p'), (t) =>
    t.kind === 'class' && t.labels.some((l) => !labels.includes(l))
      ? `unknown label "${t.labels.find((l) => !labels.includes(l))}"`
      : null,
  );
}
const intent = (i: IntentInput) => Intent.parse(i);
const cls = (id: string, label: string) =>
  intent({ type: 'condition.add', id, target: { kind: 'class', condition: 'E', labels: [label] } });

describe('RoomModel', () => {
  it('versions every change and clients following patches converge on the server state', () => {
    const m = model();
    let client: RoomState = m.snapshot();
    const patches = [
      m.apply(cls('c1', 'cat'), owner).patch,
      m.apply(intent({ type: 'params.set', params: { eps3: 0.01 } }), editor).patch,
      m.apply(intent({ type: 'condition.update', id: 'c1', weight: 2 }), editor).patch,
    ];
    for (const p of patches) client = applyPatch(client, p);
    expect(client).toEqual(m.snapshot());
    expect(m.version).toBe(3);
    expect(m.patchesSince(1)!.map((p) => p.version)).toEqual([2, 3]);
    expect(m.patchesSince(3)).toEqual([]);
    expect(m.patchesSince(7)).toBeNull();
  });

  it('patches are record-level: one stroke, one parameter, one condition — whatever else the room holds', () => {
    const m = model();
    m.apply(cls('c1', 'cat'), owner);
    m.apply(cls('c2', 'dog'), owner);
    const stroke = (id: string) =>
      intent({
        type: 'mask.stroke',
        stroke: { id, erase: false, radius: 0.05, points: Array.from({ length: 200 }, (_, i) => [i / 200, 0.5]) },
      });
    for (let i = 0; i < 50; i++) m.apply(stroke(`s${i}`), editor);
    let client: RoomState = m.snapshot();
    const p1 = m.apply(stroke('last'), editor).patch;
    expect(p1.strokes).toEqual({ put: [m.state.strokes.at(-1)] });
    expect(p1.conditions).toBeUndefined();
    expect(p1.params).toBeUndefined();
    const p2 = m.apply(intent({ type: 'params.set', params: { eps3: 0.02 } }), editor).patch;
    expect(p2).toMatchObject({ params: { eps3: 0.02 }, set: {} });
    expect(p2.strokes).toBeUndefined();
    const p3 = m.apply(intent({ type: 'condition.update', id: 'c2', weight: 3 }), editor).patch;
    expect(p3.conditions).toEqual({ put: [m.state.conditions[1]] });
    // a removed condition comes back where it was on undo (order travels only when it moved)
    const p4 = m.apply(intent({ type: 'condition.remove', id: 'c1' }), owner).patch;
    expect(p4.conditions).toEqual({ remove: ['c1'] });
    const p5 = m.apply(intent({ type: 'undo' }), owner).patch;
    expect(p5.conditions?.order).toEqual(['c1', 'c2']);
    const p6 = m.apply(intent({ type: 'mask.clear' }), owner).patch;
    expect(p6.strokes).toEqual({ clear: true });
    for (const p of [p1, p2, p3, p4, p5, p6]) client = applyPatch(client, p);
    expect(client).toEqual(m.snapshot());
    expect(JSON.stringify(p2).length).toBeLessThan(200);
  });

  it('keeps the resync history bounded in bytes; older versions then need a snapshot', () => {
    const m = model();
    const big = (id: string) =>
      intent({
        type: 'mask.stroke',
        stroke: {
          id,
          erase: false,
          radius: 0.05,
          points: Array.from({ length: 256 }, (_, i) => [i / 256, 0.123456789]),
        },
      });
    const perStroke = JSON.stringify(m.apply(big('s0'), editor).patch).length;
    const n = Math.ceil((2 * HISTORY_BYTES) / perStroke);
    for (let i = 1; i < n && i < 400; i++) m.apply(big(`s${i}`), editor);
    expect(m.patchesSince(1)).toBeNull();
    const kept = m.patchesSince(m.version - 5)!;
    expect(kept.map((p) => p.version)).toEqual([1, 2, 3, 4, 5].map((d) => m.version - 5 + d));
  });

  it('undoing a seed change asks for a fresh chain, like the change itself', () => {
    const m = model();
    expect(m.apply(intent({ type: 'params.set', params: { seed: 42 } }), editor).effects.reset).toBe(true);
    expect(m.apply(intent({ type: 'undo' }), editor).effects.reset).toBe(true);
    expect(m.apply(intent({ type: 'redo' }), editor).effects.reset).toBe(true);
    expect(m.apply(intent({ type: 'params.set', params: { eps1: 0.3 } }), editor).effects.reset).toBeUndefined();
  });

  it('a context set from the frame carries the hash of its pixels, and undo brings back the earlier one', () => {
    const m = model();
    m.apply(intent({ type: 'mask.context', useCurrentFrame: true }), editor, 10, 'hash-a');
    m.apply(intent({ type: 'mask.context', useCurrentFrame: true }), editor, 20, 'hash-b');
    expect(m.state.context).toEqual({ step: 20, setBy: 'bob', hash: 'hash-b' });
    const p = m.apply(intent({ type: 'undo' }), editor).patch;
    expect(p.set.context).toEqual({ step: 10, setBy: 'bob', hash: 'hash-a' });
  });

  it('refuses viewers, and non-owners while locked', () => {
    const m = model();
    expect(() => m.apply(cls('c1', 'cat'), viewer)).toThrow(/viewers cannot steer/);
    m.apply(intent({ type: 'room.lock', locked: true }), owner);
    expect(() => m.apply(cls('c1', 'cat'), editor)).toThrow(/locked/);
    expect(() => m.apply(intent({ type: 'room.lock', locked: false }), editor)).toThrow(/only the owner/);
    m.apply(cls('c1', 'cat'), owner);
    expect(m.state.conditions).toHaveLength(1);
    expect(m.version).toBe(2);
  });

  it('rejects bad targets and duplicates without changing anything', () => {
    const m = model();
    expect(() => m.apply(cls('c1', 'unicorn'), owner)).toThrow(/unknown label "unicorn"/);
    m.apply(cls('c1', 'cat'), owner);
    expect(() => m.apply(cls('c1', 'dog'), owner)).toThrow(/already exists/);
    expect(() => m.apply(intent({ type: 'condition.remove', id: 'zz' }), owner)).toThrow(RoomError);
    expect(m.version).toBe(1);
  });

  it("undo touches only one's own ops and never undoes others' later work", () => {
    const m = model();
    m.apply(cls('a', 'cat'), owner);
    m.apply(cls('b', 'dog'), editor);
    m.apply(intent({ type: 'params.set', params: { eps1: 0.5, eps3: 0.2 } }), owner);
    m.apply(intent({ type: 'params.set', params: { eps3: 0.3 } }), editor);
    // Alice undoes her params change: eps1 goes back, eps3 stays Bob's
    m.apply(intent({ type: 'undo' }), owner);
    expect(m.state.params.eps1).toBe(1e-3);
    expect(m.state.params.eps3).toBe(0.3);
    // Alice undoes her condition; Bob's stays
    m.apply(intent({ type: 'undo' }), owner);
    expect(m.state.conditions.map((c) => c.id)).toEqual(['b']);
    expect(() => m.apply(intent({ type: 'undo' }), owner)).toThrow(/nothing of yours to undo/);
    // redo brings hers back
    m.apply(intent({ type: 'redo' }), owner);
    expect(m.state.conditions.map((c) => c.id)).toEqual(['b', 'a']);
  });

  it('refuses to undo an op whose result someone else changed since', () => {
    const m = model();
    m.apply(cls('a', 'cat'), owner);
    m.apply(intent({ type: 'condition.update', id: 'a', weight: 3 }), editor);
    expect(() => m.apply(intent({ type: 'undo' }), owner)).toThrow(/someone changed that condition since/);
    expect(m.state.conditions[0]!.weight).toBe(3);
  });

  it('undoes mask strokes one by one, leaving other painters alone', () => {
    const m = model();
    const stroke = (id: string) =>
      intent({ type: 'mask.stroke', stroke: { id, erase: false, radius: 0.1, points: [[0.5, 0.5]] } });
    m.apply(stroke('s1'), owner);
    m.apply(stroke('s2'), editor);
    m.apply(stroke('s3'), owner);
    m.apply(intent({ type: 'undo' }), owner);
    expect(m.state.strokes.map((s) => s.id)).toEqual(['s1', 's2']);
    m.apply(intent({ type: 'mask.clear' }), editor);
    expect(m.state.strokes).toEqual([]);
    m.apply(intent({ type: 'undo' }), editor);
    expect(m.state.strokes.map((s) => s.id)).toEqual(['s1', 's2']);
    expect(m.state.strokes.map((s) => s.author)).toEqual(['alice', 'bob']);
  });

  it('records the chain step a "use current frame" context refers to', () => {
    const m = model();
    m.apply(intent({ type: 'mask.context', useCurrentFrame: true }), editor, 42);
    expect(m.state.context).toEqual({ step: 42, setBy: 'bob' });
  });
});

describe('Intent schema', () => {
  it('rejects NaN, out-of-range and unknown intents', () => {
    expect(Intent.safeParse({ type: 'params.set', params: { eps1: Number.NaN } }).success).toBe(false);
    expect(Intent.safeParse({ type: 'chain.step', steps: -1 }).success).toBe(false);
    expect(Intent.safeParse({ type: 'chain.step', steps: 10_000 }).success).toBe(false);
    expect(Intent.safeParse({ type: 'explode' }).success).toBe(false);
    expect(
      Intent.safeParse({ type: 'mask.stroke', stroke: { id: 's', erase: false, radius: 0.1, points: [[2, 0]] } })
        .success,
    ).toBe(false);
  });
});
