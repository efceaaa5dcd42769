// Room state machine: validates and applies intents, versions every change, keeps a bounded
// patch history for resync, and per-user undo/redo that never touches other people's work.
// Pure: no sockets, no database, no tensors.
import {
  LIMITS,
  diffState,
  type Intent,
  type MaskStroke,
  type Role,
  type RoomCondition,
  type RoomPatch,
  type RoomStart,
  type RoomState,
  type SamplerParams,
  type ErrorCode,
} from '@ppgn/shared';

/** A refused change or request; `code` says why (and, over HTTP, which status). */
export class RoomError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = 'invalid',
  ) {
    super(message);
    this.name = 'RoomError';
  }
}

export interface Actor {
  userId: string;
  name: string;
  role: Role;
}

/** Checks a condition target against the room's pack; returns an error message or null. */
export type TargetValidator = (target: RoomCondition['target']) => string | null;
/** why the sampler could not run a state (conditions, mode and context together), or null when it can */
export type StateValidator = (state: RoomState) => string | null;

type Changes = Partial<Omit<RoomState, 'id' | 'version'>>;

interface UndoableOp {
  label: string;
  /** compute the changes that undo this op, or throw RoomError if others changed it since */
  undo(state: RoomState): Changes;
  redo(state: RoomState): Changes;
}

export interface Applied {
  patch: RoomPatch;
  summary: string;
  /** side effects for the chain owner (the room runtime) */
  effects: { step?: number; reset?: boolean };
}

const HISTORY = 1000;
/** the resync history is bounded in bytes too (a patch's JSON length), not only in count */
export const HISTORY_BYTES = 512 * 1024;
const UNDO_DEPTH = 100;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function describeTarget(t: RoomCondition['target']): string {
  if (t.kind === 'class') return `class ${t.labels.join(' + ')}`;
  if (t.kind === 'text') return `text "${t.text}"`;
  if (t.kind === 'image') return `image reference "${t.name}"`;
  return `unit ${t.layer}#${t.channel}${t.x !== undefined ? ` @${t.x},${t.y}` : ''}`;
}

export class RoomModel {
  state: RoomState;
  private history: RoomPatch[] = [];
  private sizes: number[] = [];
  private historyBytes = 0;
  private stacks = new Map<string, { undo: UndoableOp[]; redo: UndoableOp[] }>();

  constructor(
    state: RoomState,
    private readonly validateTarget: TargetValidator,
    private readonly validateState: StateValidator = () => null,
  ) {
    this.state = structuredClone(state);
  }

  get version(): number {
    return this.state.version;
  }

  /** Patches after `version`, or null if they are no longer all kept (client must take a snapshot). */
  patchesSince(version: number): RoomPatch[] | null {
    if (version > this.state.version) return null;
    if (version === this.state.version) return [];
    const first = this.history[0];
    if (!first || first.version > version + 1) return null;
    return this.history.filter((p) => p.version > version);
  }

  snapshot(): RoomState {
    return structuredClone(this.state);
  }

  /**
   * `chainStep` is the chain's current step (the frame a "use current frame" context refers to);
   * `contextHash` the content hash of that frame's pixels (the runtime keeps the pixels by hash).
   */
  apply(intent: Intent, actor: Actor, chainStep = 0, contextHash?: string): Applied {
    if (actor.role === 'viewer') throw new RoomError('viewers cannot steer this room');
    if (this.state.locked && actor.role !== 'owner' && intent.type !== 'room.lock')
      throw new RoomError('the room is locked by its owner');
    const s = this.state;
    let changes: Changes = {};
    let summary = '';
    let op: UndoableOp | undefined;
    let moved: (() => void) | undefined;
    const effects: Applied['effects'] = {};

    switch (intent.type) {
      case 'condition.add': {
        if (s.conditions.some((c) => c.id === intent.id))
          throw new RoomError(`condition "${intent.id}" already exists`);
        if (s.conditions.length >= LIMITS.conditions)
          throw new RoomError(`a room has at most ${LIMITS.conditions} conditions`);
        this.check(intent.target);
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
        if (intent.target) this.check(intent.target);
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
        const before: Partial<SamplerParams> = {};
        const after: Partial<SamplerParams> = {};
        for (const k of keys) {
          if (intent.params[k] === undefined || same(s.params[k], intent.params[k])) continue;
          (before as Record<string, unknown>)[k] = s.params[k];
          (after as Record<string, unknown>)[k] = intent.params[k];
        }
        if (Object.keys(after).length === 0) throw new RoomError('nothing changed');
        changes = { params: { ...s.params, ...after } };
        summary = `set ${Object.entries(after)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`;
        if ('seed' in after) effects.reset = true;
        const swap =
          (from: Partial<SamplerParams>, to: Partial<SamplerParams>) =>
          (st: RoomState): Changes => {
            // only the keys nobody else has changed since
            const mine = Object.keys(from).filter((k) =>
              same(st.params[k as keyof SamplerParams], from[k as keyof SamplerParams]),
            );
            if (mine.length === 0) throw new RoomError('cannot undo: someone changed those settings since');
            const next = { ...st.params };
            for (const k of mine) (next as Record<string, unknown>)[k] = to[k as keyof SamplerParams];
            return { params: next };
          };
        op = { label: summary, undo: swap(after, before), redo: swap(before, after) };
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
        if (s.strokes.some((k) => k.id === intent.stroke.id))
          throw new RoomError(`stroke "${intent.stroke.id}" exists`);
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
      case 'undo':
      case 'redo': {
        const stack = this.stackOf(actor.userId);
        const from = intent.type === 'undo' ? stack.undo : stack.redo;
        const to = intent.type === 'undo' ? stack.redo : stack.undo;
        const last = from[from.length - 1];
        if (!last) throw new RoomError(`nothing of yours to ${intent.type}`);
        changes = intent.type === 'undo' ? last.undo(s) : last.redo(s);
        moved = () => {
          from.pop();
          to.push(last);
        };
        summary = `${intent.type === 'undo' ? 'undid' : 'redid'}: ${last.label}`;
        break;
      }
    }

    // the whole resulting state, as the sampler will take it: refused here rather than failing in the chain
    const samplerSees =
      changes.conditions !== undefined ||
      (changes.params !== undefined && changes.params.mode !== s.params.mode) ||
      changes.context !== undefined ||
      changes.strokes !== undefined;
    if (samplerSees) {
      const problem = this.validateState({ ...s, ...changes });
      if (problem) throw new RoomError(`${problem}; the change was not applied`);
    }
    moved?.();
    // a different seed means a different chain, whichever way it came (a slider, undo, redo)
    if (changes.params && changes.params.seed !== s.params.seed) effects.reset = true;
    const patch = this.commit(changes, actor.userId);
    if (op) {
      const stack = this.stackOf(actor.userId);
      stack.undo.push(op);
      if (stack.undo.length > UNDO_DEPTH) stack.undo.shift();
      stack.redo = [];
    }
    return { patch, summary, effects };
  }

  /**
   * The chain starts from a picture someone uploaded: a versioned change of `start`, on the person's undo stack
   * like any other (undo brings back `previous`, the code the chain had before).
   */
  startFrom(actor: Actor, next: RoomStart, previous: RoomStart): Applied {
    if (actor.role === 'viewer') throw new RoomError('viewers cannot steer this room');
    if (this.state.locked && actor.role !== 'owner') throw new RoomError('the room is locked by its owner');
    const sameRef = (a: RoomStart | null | undefined, b: RoomStart) => a?.ref === b.ref;
    const op: UndoableOp = {
      label: 'the start from an uploaded image',
      undo: (st) => {
        if (!sameRef(st.start, next))
          throw new RoomError('nothing to undo: the chain was started from something else since');
        return { start: previous };
      },
      redo: (st) => {
        if (!sameRef(st.start, previous))
          throw new RoomError('nothing to redo: the chain was started from something else since');
        return { start: next };
      },
    };
    const patch = this.commit({ start: next }, actor.userId);
    const stack = this.stackOf(actor.userId);
    stack.undo.push(op);
    if (stack.undo.length > UNDO_DEPTH) stack.undo.shift();
    stack.redo = [];
    return { patch, summary: 'started the chain from an uploaded image', effects: {} };
  }

  /** Changes made by the engine itself (e.g. a resumed room) — versioned, no undo entry. */
  system(changes: Changes, author = 'engine'): RoomPatch {
    return this.commit(changes, author);
  }

  private commit(changes: Changes, author: string): RoomPatch {
    const before = this.state;
    // states share unchanged records (nothing edits a record in place), so diffs stay cheap
    this.state = { ...before, ...changes, version: before.version + 1 };
    const patch: RoomPatch = { version: this.state.version, author, ...diffState(before, this.state) };
    const size = JSON.stringify(patch).length;
    this.history.push(patch);
    this.sizes.push(size);
    this.historyBytes += size;
    while (this.history.length > 1 && (this.history.length > HISTORY || this.historyBytes > HISTORY_BYTES)) {
      this.history.shift();
      this.historyBytes -= this.sizes.shift()!;
    }
    return patch;
  }

  private check(target: RoomCondition['target']) {
    const err = this.validateTarget(target);
    if (err) throw new RoomError(err);
  }

  private stackOf(userId: string) {
    let st = this.stacks.get(userId);
    if (!st) {
      st = { undo: [], redo: [] };
      this.stacks.set(userId, st);
    }
    return st;
  }
}
