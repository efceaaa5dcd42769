// Room state machine: validates and applies intents, versions every change, keeps a bounded
// patch history for resync, and per-user undo/redo that never touches other people's work.
// Pure: no sockets, no database, no tensors.
import {
  diffState,
  type Intent,
  type RoomCondition,
  type RoomPatch,
  type RoomStart,
  type RoomState,
} from '@ppgn/shared';

import { RoomError } from './errors';
import { assertMay, type Actor } from './access';

export type { Actor } from './access';
import { changeOf, type Changes, type Effects, type UndoableOp } from './intents';

export { RoomError };

/** Checks a condition target against the room's pack; returns an error message or null. */
export type TargetValidator = (target: RoomCondition['target']) => string | null;
/** why the sampler could not run a state (conditions, mode and context together), or null when it can */
export type StateValidator = (state: RoomState) => string | null;

export interface Applied {
  patch: RoomPatch;
  summary: string;
  /** side effects for the chain owner (the room runtime) */
  effects: Effects;
}

/** the parts of the state the derived settings depend on */
const DERIVED_FROM = ['conditions', 'params', 'strokes', 'context', 'overrides'] as const;
const HISTORY = 1000;
/** the resync history is bounded in bytes too (a patch's JSON length), not only in count */
export const HISTORY_BYTES = 512 * 1024;
const UNDO_DEPTH = 100;

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
    /** what the engine derives from the rest of the state (the settings in effect); kept up to date on commit */
    private readonly derive: (state: RoomState) => Partial<RoomState> = () => ({}),
  ) {
    this.state = structuredClone(state);
    this.state = { ...this.state, ...derive(this.state) };
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
    // the lock itself is the owner's (checked with the intent below); everything else is steering
    assertMay(actor.role, 'steer', this.state.locked && intent.type !== 'room.lock');
    const s = this.state;
    let changes: Changes = {};
    let summary = '';
    let op: UndoableOp | undefined;
    let moved: (() => void) | undefined;
    const effects: Effects = {};

    if (intent.type === 'undo' || intent.type === 'redo') {
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
    } else {
      const c = changeOf(intent, { state: s, actor, chainStep, contextHash, check: (t) => this.check(t) });
      ({ changes, summary, op } = c);
      Object.assign(effects, c.effects);
    }

    // the whole resulting state, as the sampler will take it: refused here rather than failing in the chain
    const samplerSees =
      changes.conditions !== undefined ||
      changes.params !== undefined ||
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
    assertMay(actor.role, 'steer', this.state.locked);
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
    if (DERIVED_FROM.some((k) => changes[k] !== undefined)) this.state = { ...this.state, ...this.derive(this.state) };
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
