// What each intent changes in a room's state: the new values, a one-line summary for the activity log, and how
// to undo and redo it (refused when someone else changed the same thing since). Pure functions of the state;
// the model (model.ts) checks who may, versions the change and keeps the undo stacks.
import {
  LIMITS,
  TUNABLE,
  type Tunable,
  type Intent,
  type MaskStroke,
  type RoomCondition,
  type RoomState,
  type SamplerParams,
} from '@ppgn/shared';
import { RoomError } from './errors';
import type { Actor } from './access';

export type Changes = Partial<Omit<RoomState, 'id' | 'version'>>;

export interface UndoableOp {
  label: string;
  /** compute the changes that undo this op, or throw RoomError if others changed it since */
  undo(state: RoomState): Changes;
  redo(state: RoomState): Changes;
}

/** side effects for the chain owner (the Room): steps to take, a restart */
export interface Effects {
  step?: number;
  reset?: boolean;
}

export interface IntentContext {
  state: RoomState;
  actor: Actor;
  /** the chain's current step (the frame a "use current frame" context refers to) */
  chainStep: number;
  /** the content hash of that frame's pixels (the Room keeps the pixels by hash) */
  contextHash?: string;
  /** throws when the pack cannot use a condition target */
  check(target: RoomCondition['target']): void;
}

export const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const isTunable = (k: string): k is Tunable => (TUNABLE as readonly string[]).includes(k);

export function describeTarget(t: RoomCondition['target']): string {
  if (t.kind === 'class') return `class ${t.labels.join(' + ')}`;
  if (t.kind === 'text') return `text "${t.text}"`;
  if (t.kind === 'image') return `image reference "${t.name}"`;
  return `unit ${t.layer}#${t.channel}${t.x !== undefined ? ` @${t.x},${t.y}` : ''}`;
}

/** The change an intent (other than undo and redo) makes, or a RoomError saying why it cannot. */
export function changeOf(
  intent: Exclude<Intent, { type: 'undo' | 'redo' }>,
  ctx: IntentContext,
): { changes: Changes; summary: string; op?: UndoableOp; effects: Effects } {
  const { state: s, actor, chainStep, contextHash } = ctx;
  let changes: Changes = {};
  let summary = '';
  let op: UndoableOp | undefined;
  const effects: Effects = {};
  switch (intent.type) {
    case 'condition.add': {
      if (s.conditions.some((c) => c.id === intent.id)) throw new RoomError(`condition "${intent.id}" already exists`);
      if (s.conditions.length >= LIMITS.conditions)
        throw new RoomError(`a room has at most ${LIMITS.conditions} conditions`);
      ctx.check(intent.target);
      const added: RoomCondition = {
        id: intent.id,
        target: intent.target,
        weight: intent.weight,
        enabled: true,
        author: actor.userId,
      };
      changes = { conditions: [...s.conditions, added] };
      summary = `added ${describeTarget(added.target)} (weight ${added.weight})`;
      op = {
        label: summary,
        undo: (st) => {
          const cur = st.conditions.find((c) => c.id === added.id);
          if (!cur) throw new RoomError('nothing to undo: that condition was already removed');
          if (!same(cur, added)) throw new RoomError('cannot undo: someone changed that condition since');
          return { conditions: st.conditions.filter((c) => c.id !== added.id) };
        },
        redo: (st) => {
          if (st.conditions.some((c) => c.id === added.id))
            throw new RoomError('cannot redo: the condition exists again');
          return { conditions: [...st.conditions, added] };
        },
      };
      break;
    }
    case 'condition.update': {
      const idx = s.conditions.findIndex((c) => c.id === intent.id);
      if (idx < 0) throw new RoomError(`no condition "${intent.id}" in this room`);
      const before = s.conditions[idx]!;
      if (intent.target) ctx.check(intent.target);
      const after: RoomCondition = {
        ...before,
        ...(intent.target ? { target: intent.target } : {}),
        ...(intent.weight !== undefined ? { weight: intent.weight } : {}),
        ...(intent.enabled !== undefined ? { enabled: intent.enabled } : {}),
      };
      if (same(before, after)) throw new RoomError('nothing changed');
      changes = { conditions: s.conditions.map((c, i) => (i === idx ? after : c)) };
      summary = `changed ${describeTarget(after.target)}${after.weight !== before.weight ? ` weight ${before.weight} → ${after.weight}` : ''}${after.enabled !== before.enabled ? (after.enabled ? ' (on)' : ' (off)') : ''}`;
      const swap =
        (from: RoomCondition, to: RoomCondition) =>
        (st: RoomState): Changes => {
          const i = st.conditions.findIndex((c) => c.id === from.id);
          if (i < 0) throw new RoomError('nothing to undo: that condition was removed');
          if (!same(st.conditions[i], from)) throw new RoomError('cannot undo: someone changed that condition since');
          return { conditions: st.conditions.map((c, j) => (j === i ? to : c)) };
        };
      op = { label: summary, undo: swap(after, before), redo: swap(before, after) };
      break;
    }
    case 'condition.remove': {
      const idx = s.conditions.findIndex((c) => c.id === intent.id);
      if (idx < 0) throw new RoomError(`no condition "${intent.id}" in this room`);
      const removed = s.conditions[idx]!;
      changes = { conditions: s.conditions.filter((c) => c.id !== intent.id) };
      summary = `removed ${describeTarget(removed.target)}`;
      op = {
        label: summary,
        undo: (st) => {
          if (st.conditions.some((c) => c.id === removed.id))
            throw new RoomError('cannot undo: a condition with that id exists again');
          if (st.conditions.length >= LIMITS.conditions)
            throw new RoomError(`a room has at most ${LIMITS.conditions} conditions`);
          const list = [...st.conditions];
          list.splice(Math.min(idx, list.length), 0, removed);
          return { conditions: list };
        },
        redo: (st) => {
          if (!st.conditions.some((c) => same(c, removed)))
            throw new RoomError('cannot redo: that condition changed since');
          return { conditions: st.conditions.filter((c) => c.id !== removed.id) };
        },
      };
      break;
    }
    case 'params.set': {
      const keys = Object.keys(intent.params) as (keyof SamplerParams)[];
      const was = new Set<string>(s.overrides ?? []);
      const before: Partial<SamplerParams> = {};
      const after: Partial<SamplerParams> = {};
      for (const k of keys) {
        const v = intent.params[k];
        // setting a pack-tuned value explicitly is a change too: from now on it is the person's
        if (v === undefined || (same(s.params[k], v) && (!isTunable(k) || was.has(k)))) continue;
        (before as Record<string, unknown>)[k] = s.params[k];
        (after as Record<string, unknown>)[k] = v;
      }
      if (Object.keys(after).length === 0) throw new RoomError('nothing changed');
      const newly = Object.keys(after).filter((k): k is Tunable => isTunable(k) && !was.has(k));
      changes = { params: { ...s.params, ...after } };
      if (newly.length) changes.overrides = [...(s.overrides ?? []), ...newly];
      summary = `set ${Object.entries(after)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`;
      if ('seed' in after) effects.reset = true;
      const swap =
        (from: Partial<SamplerParams>, to: Partial<SamplerParams>, undo: boolean) =>
        (st: RoomState): Changes => {
          // only the keys nobody else has changed since
          const mine = Object.keys(from).filter((k) =>
            same(st.params[k as keyof SamplerParams], from[k as keyof SamplerParams]),
          );
          if (mine.length === 0) throw new RoomError('cannot undo: someone changed those settings since');
          const next = { ...st.params };
          for (const k of mine) (next as Record<string, unknown>)[k] = to[k as keyof SamplerParams];
          // undo gives the settings this change overrode back to the pack's tunings; redo overrides them again
          const mineNew = newly.filter((k) => mine.includes(k));
          const cur = st.overrides ?? [];
          const overrides = undo
            ? cur.filter((k) => !mineNew.includes(k))
            : [...cur, ...mineNew.filter((k) => !cur.includes(k))];
          return mineNew.length ? { params: next, overrides } : { params: next };
        };
      op = { label: summary, undo: swap(after, before, true), redo: swap(before, after, false) };
      break;
    }
    case 'run.set':
      if (s.running === intent.running) throw new RoomError(intent.running ? 'already running' : 'already paused');
      changes = { running: intent.running };
      summary = intent.running ? 'pressed play' : 'paused';
      break;
    case 'chain.step':
      effects.step = intent.steps;
      summary = `stepped ${intent.steps}`;
      break;
    case 'chain.reset':
      effects.reset = true;
      if (intent.seed !== undefined && intent.seed !== s.params.seed)
        changes = { params: { ...s.params, seed: intent.seed } };
      summary = `reset the chain${intent.seed !== undefined ? ` (seed ${intent.seed})` : ''}`;
      break;
    case 'mask.stroke': {
      if (s.strokes.length >= LIMITS.strokes)
        throw new RoomError(`the mask has the maximum of ${LIMITS.strokes} strokes; clear it first`);
      if (s.strokes.some((k) => k.id === intent.stroke.id)) throw new RoomError(`stroke "${intent.stroke.id}" exists`);
      const stroke: MaskStroke = { ...intent.stroke, author: actor.userId };
      changes = { strokes: [...s.strokes, stroke] };
      summary = stroke.erase ? 'erased part of the mask' : 'painted on the mask';
      op = {
        label: summary,
        undo: (st) => {
          if (!st.strokes.some((k) => k.id === stroke.id)) throw new RoomError('nothing to undo: the stroke is gone');
          return { strokes: st.strokes.filter((k) => k.id !== stroke.id) };
        },
        redo: (st) => {
          if (st.strokes.some((k) => k.id === stroke.id)) throw new RoomError('cannot redo: the stroke is there');
          return { strokes: [...st.strokes, stroke] };
        },
      };
      break;
    }
    case 'mask.clear': {
      if (s.strokes.length === 0) throw new RoomError('the mask is already empty');
      const cleared = s.strokes;
      changes = { strokes: [] };
      summary = `cleared the mask (${cleared.length} strokes)`;
      op = {
        label: summary,
        undo: (st) => {
          const present = new Set(st.strokes.map((k) => k.id));
          return { strokes: [...cleared.filter((k) => !present.has(k.id)), ...st.strokes] };
        },
        redo: (st) => {
          const ids = new Set(cleared.map((k) => k.id));
          return { strokes: st.strokes.filter((k) => !ids.has(k.id)) };
        },
      };
      break;
    }
    case 'mask.context': {
      const before = s.context;
      const after = intent.useCurrentFrame
        ? { step: chainStep, setBy: actor.userId, ...(contextHash ? { hash: contextHash } : {}) }
        : null;
      if (!intent.useCurrentFrame && before === null) throw new RoomError('there is no context image to remove');
      changes = { context: after };
      summary = intent.useCurrentFrame
        ? 'used the current frame as inpainting context'
        : 'removed the inpainting context';
      op = {
        label: summary,
        undo: (st) => {
          if (!same(st.context, after)) throw new RoomError('cannot undo: the context changed since');
          return { context: before };
        },
        redo: () => ({ context: after }),
      };
      break;
    }
    case 'room.rename':
      if (actor.role !== 'owner') throw new RoomError('only the owner can rename the room');
      changes = { name: intent.name };
      summary = `renamed the room to "${intent.name}"`;
      break;
    case 'room.lock':
      if (actor.role !== 'owner') throw new RoomError('only the owner can lock or unlock the room');
      if (s.locked === intent.locked) throw new RoomError(intent.locked ? 'already locked' : 'already unlocked');
      changes = { locked: intent.locked };
      summary = intent.locked ? 'locked the room' : 'unlocked the room';
      break;
  }
  return { changes, summary, op, effects };
}
