import { describe, expect, it } from 'vitest';
import { Intent, applyPatch, type IntentInput, type RoomState } from '@ppgn/shared';
import { RoomError, RoomModel, type Actor } from '../src/rooms/model';
import { newRoomState } from '../src/rooms/defaults';

const owner: Actor = { userId: 'alice', name: 'Alice', role: 'owner' };
const editor: Actor = { userId: 'bob', name: 'Bob', role: 'editor' };
const viewer: Actor = { userId: 'vic', name: 'Vic', role: 'viewer' };
const labels = ['cat', 'dog', 'tree'];

function model() {
  return new RoomModel(newRoomState('r', 'Room', 'p'), (t) =>
    t.kind === 'class' && t.labels.some((l) => !labels.includes(l)) ? `unknown label "${t.labels.find((l) => !labels.includes(l))}"` : null,
  );
}
const intent = (i: IntentInput) => Intent.parse(i);
const cls = (id: string, label: string) => intent({ type: 'condition.add', id, target: { kind: 'class', condition: 'E', labels: [label] } });

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
    const stroke = (id: string) => intent({ type: 'mask.stroke', stroke: { id, erase: false, radius: 0.1, points: [[0.5, 0.5]] } });
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
    const r = m.apply(intent({ type: 'mask.context', useCurrentFrame: true }), editor, 42);
    expect(r.effects.contextFromFrame).toBe(true);
    expect(m.state.context).toEqual({ step: 42, setBy: 'bob' });
  });
});

describe('Intent schema', () => {
  it('rejects NaN, out-of-range and unknown intents', () => {
    expect(Intent.safeParse({ type: 'params.set', params: { eps1: Number.NaN } }).success).toBe(false);
    expect(Intent.safeParse({ type: 'chain.step', steps: -1 }).success).toBe(false);
    expect(Intent.safeParse({ type: 'chain.step', steps: 10_000 }).success).toBe(false);
    expect(Intent.safeParse({ type: 'explode' }).success).toBe(false);
    expect(Intent.safeParse({ type: 'mask.stroke', stroke: { id: 's', erase: false, radius: 0.1, points: [[2, 0]] } }).success).toBe(false);
  });
});
