// The room protocol: server-owned state, typed client intents, server events.
// Clients send intents; the engine validates them (these schemas, then against the pack),
// applies them, bumps the version and broadcasts patches. Reconnect = resync from a version.
import { z } from 'zod';
import type { ErrorCode, ErrorReason } from './errors';

export const LIMITS = {
  nameLength: 40,
  roomNameLength: 80,
  conditions: 8,
  textLength: 200,
  labelsPerCondition: 4,
  strokes: 400,
  pointsPerStroke: 256,
  uploadBytes: 1_000_000,
  referencePngBase64: 64_000,
  intentsPerSecond: 30,
  fps: { min: 1, max: 30 },
  /** whole pixels the sampler may shift the condition nets' view by (a pack also caps it at a quarter of its picture) */
  jitter: { max: 16 },
  stepsPerRequest: 500,
} as const;

export const Role = z.enum(['owner', 'editor', 'viewer']);
export type Role = z.infer<typeof Role>;

/** ppgn, hdae, dgnam, fast: Langevin-style samplers of the paper; mala, hmc: exact samplers with Metropolis–Hastings */
export const SamplerMode = z.enum(['ppgn', 'hdae', 'dgnam', 'fast', 'mala', 'hmc']);
export type SamplerMode = z.infer<typeof SamplerMode>;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const weight = finite.min(-10).max(10);
const condId = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'ids are 1–40 letters, digits, _ or -');

/** What a condition says, without bookkeeping; `net` is the pack's condition id. */
export const ConditionTarget = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('class'),
    condition: z.string().min(1).max(64),
    labels: z.array(z.string().min(1).max(64)).min(1).max(LIMITS.labelsPerCondition),
    variant: z.enum(['logsoftmax', 'logit', 'softmax']).default('logsoftmax'),
  }),
  z.object({
    kind: z.literal('text'),
    condition: z.string().min(1).max(64),
    text: z.string().min(1).max(LIMITS.textLength),
  }),
  z.object({
    kind: z.literal('unit'),
    condition: z.string().min(1).max(64),
    layer: z.string().min(1).max(64),
    channel: z.number().int().min(0).max(100_000),
    x: z.number().int().min(0).max(4096).optional(),
    y: z.number().int().min(0).max(4096).optional(),
  }),
  /** match the encoder features of a reference image (small PNG, base64) */
  z.object({
    kind: z.literal('image'),
    png: z.string().min(1).max(LIMITS.referencePngBase64, 'reference images are at most ~48 KB; use a smaller picture'),
    name: z.string().max(80).default('reference'),
  }),
]);
export type ConditionTarget = z.infer<typeof ConditionTarget>;
export type ConditionTargetInput = z.input<typeof ConditionTarget>;

export const RoomCondition = z.object({
  id: condId,
  target: ConditionTarget,
  weight,
  enabled: z.boolean(),
  author: z.string(),
});
export type RoomCondition = z.infer<typeof RoomCondition>;

/** Sampler parameters (paper eq. 11 plus the reference implementation's schedule). */
export const SamplerParams = z.object({
  mode: SamplerMode,
  /** ε1: weight of the prior term R(h) − h */
  eps1: finite.min(0).max(10),
  /** ε2: weight of the condition gradient */
  eps2: finite.min(0).max(100),
  /** ε3: noise standard deviation */
  eps3: finite.min(0).max(10),
  /** ε4: weight of the inpainting context term */
  eps4: finite.min(0).max(100),
  lr: finite.min(0).max(100),
  lrEnd: finite.min(0).max(100),
  /** steps over which lr decays to lrEnd (then stays) */
  lrSteps: z.number().int().min(1).max(100_000),
  /** L2 decay λ for DGN-AM mode */
  decay: finite.min(0).max(1),
  /** re-draw h every N steps (0 = never) */
  resetEvery: z.number().int().min(0).max(100_000),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  fps: z.number().int().min(LIMITS.fps.min).max(LIMITS.fps.max),
  /** exact modes: the MALA step τ / the HMC leapfrog step (absent: the pack's or the sampler's default) */
  stepSize: finite.min(1e-6).max(10).optional(),
  /** HMC: leapfrog steps per proposal */
  leapfrog: z.number().int().min(1).max(100).optional(),
  /**
   * PPGN / DGN-AM: the condition nets see the picture shifted by a random offset of up to ±jitter px each step
   * (transformation robustness: steers to pictures, not to pixel patterns); absent: the pack's tuning
   */
  jitter: z.number().int().min(0).max(LIMITS.jitter.max).optional(),
});
export type SamplerParams = z.infer<typeof SamplerParams>;

/** The sampler settings whose value comes from the pack's tunings unless someone overrides it. */
export const TUNABLE = [
  'eps1',
  'eps2',
  'eps3',
  'eps4',
  'lr',
  'lrEnd',
  'lrSteps',
  'decay',
  'resetEvery',
  'stepSize',
  'leapfrog',
  'jitter',
] as const;
export const Tunable = z.enum(TUNABLE);
export type Tunable = z.infer<typeof Tunable>;

/**
 * The settings a sampler mode does not use, with the reason: one rule for the engine (the panel disables their
 * sliders) and the gallery (a saved recipe lists only what its mode ran with). `hdae`: whether the pack has an
 * h-DAE prior (fast mode's ε1 weighs it; unknown counts as present).
 */
export function ignoredByMode(mode: SamplerMode, opts: { hdae?: boolean } = {}): Partial<Record<Tunable, string>> {
  const ignored: Partial<Record<Tunable, string>> = {};
  if (mode === 'dgnam') ignored.eps1 = 'DGN-AM has no learned prior: ε1 is 0 in this mode';
  else ignored.decay = 'the L2 decay is used in DGN-AM mode only';
  if (mode === 'fast') {
    ignored.eps4 = 'fast mode steers by class only: no inpainting context';
    ignored.jitter = 'fast mode reads the code, not the picture: nothing to shift';
    if (opts.hdae === false) ignored.eps1 = 'this pack has no h-DAE prior for fast mode';
  }
  if (mode === 'mala' || mode === 'hmc') {
    const why = 'the exact samplers draw from p(y|G(h))^ε2 · N(h; 0, I): ';
    ignored.eps1 = `${why}no learned prior term`;
    ignored.eps3 = `${why}the noise is the proposal's, set by the step τ`;
    ignored.lr = ignored.lrEnd = ignored.lrSteps = `${why}the step τ sets how far each proposal moves`;
    ignored.jitter = `${why}a random shift of the picture would change the distribution they sample`;
    if (mode === 'mala') ignored.leapfrog = 'leapfrog steps are HMC’s';
  } else ignored.stepSize = ignored.leapfrog = 'used by the exact samplers (MALA, HMC) only';
  return ignored;
}

/**
 * The settings the chain runs with, resolved by the engine in one place (the pack's tunings for the mode and
 * the condition kind, then the room's overrides): what the panel shows. `ignored`: settings this mode does not
 * use, with the reason (their sliders are disabled).
 */
export const EffectiveSettings = z.object({
  values: z.record(Tunable, finite),
  ignored: z.partialRecord(Tunable, z.string().max(200)),
  /** the modes the room's conditions do not allow now, with the reason (the sampler's own checks) */
  unavailable: z.partialRecord(SamplerMode, z.string().max(300)).optional(),
});
export type EffectiveSettings = z.infer<typeof EffectiveSettings>;

/** One brush stroke on the mask, in normalised [0,1] canvas coordinates. */
export const MaskStroke = z.object({
  id: z.string().min(1).max(40),
  author: z.string(),
  /** paint = pixels become known context; erase = unknown again */
  erase: z.boolean(),
  radius: finite.min(0.005).max(0.5),
  points: z
    .array(z.tuple([finite.min(0).max(1), finite.min(0).max(1)]))
    .min(1)
    .max(LIMITS.pointsPerStroke),
});
export type MaskStroke = z.infer<typeof MaskStroke>;

/** Which frame is the inpainting context, who set it, and the content hash of its pixels. */
export const RoomContext = z.object({
  step: z.number().int().nonnegative(),
  setBy: z.string(),
  /** content hash of the context image, so undo/redo bring back those pixels (absent in older rooms) */
  hash: z.string().max(64).optional(),
});
export type RoomContext = z.infer<typeof RoomContext>;

/**
 * Where the chain was last started from (an uploaded picture, or the code it had before one): a reference to a
 * code the engine keeps for a while, so that undo and redo of "From image…" move the chain back and forth.
 */
export const RoomStart = z.object({
  ref: z.string().max(80),
  setBy: z.string(),
  /** what people see in the activity and the recipe: "an uploaded image", "the chain before the upload" */
  label: z.string().max(120),
});
export type RoomStart = z.infer<typeof RoomStart>;

export const RoomState = z.object({
  id: z.string(),
  name: z.string(),
  packId: z.string(),
  version: z.number().int().nonnegative(),
  running: z.boolean(),
  locked: z.boolean(),
  conditions: z.array(RoomCondition),
  params: SamplerParams,
  strokes: z.array(MaskStroke),
  /** the frame step whose image is the inpainting context (null = no context) */
  context: RoomContext.nullable(),
  /** the last start picture (absent or null: the chain started from its seed) */
  start: RoomStart.nullable().optional(),
  /** the settings people set themselves (their `params` value is used); the others follow the pack's tunings */
  overrides: z.array(Tunable).optional(),
  /** what the chain runs with now (derived by the engine from the rest of the state; read-only) */
  effective: EffectiveSettings.optional(),
});
export type RoomState = z.infer<typeof RoomState>;

/** Client → server: everything that changes the room. */
export const Intent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('condition.add'), id: condId, target: ConditionTarget, weight: weight.default(1) }),
  z.object({
    type: z.literal('condition.update'),
    id: condId,
    target: ConditionTarget.optional(),
    weight: weight.optional(),
    enabled: z.boolean().optional(),
  }),
  z.object({ type: z.literal('condition.remove'), id: condId }),
  z.object({ type: z.literal('params.set'), params: SamplerParams.partial() }),
  z.object({ type: z.literal('run.set'), running: z.boolean() }),
  z.object({ type: z.literal('chain.step'), steps: z.number().int().min(1).max(LIMITS.stepsPerRequest) }),
  z.object({
    type: z.literal('chain.reset'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
  }),
  z.object({ type: z.literal('mask.stroke'), stroke: MaskStroke.omit({ author: true }) }),
  z.object({ type: z.literal('mask.clear') }),
  z.object({ type: z.literal('mask.context'), useCurrentFrame: z.boolean() }),
  z.object({ type: z.literal('room.rename'), name: z.string().min(1).max(LIMITS.roomNameLength) }),
  z.object({ type: z.literal('room.lock'), locked: z.boolean() }),
  z.object({ type: z.literal('undo') }),
  z.object({ type: z.literal('redo') }),
]);
export type Intent = z.infer<typeof Intent>;
export type IntentInput = z.input<typeof Intent>;

export const Member = z.object({
  userId: z.string(),
  name: z.string(),
  color: z.string(),
  role: Role,
  cursor: z.tuple([finite, finite]).nullable(),
  painting: z.boolean(),
  following: z.string().nullable(),
  /** the history step this person is looking at on the timeline (null = the live frame) */
  viewing: z.number().int().nonnegative().nullable(),
  /** their connection dropped: kept for a grace period so that a reconnect resumes their place */
  away: z.boolean().optional(),
});
export type Member = z.infer<typeof Member>;

export interface Frame {
  roomId: string;
  step: number;
  /** the room version this frame was sampled under (for steer-to-frame latency) */
  version: number;
  /** PNG bytes */
  image: Uint8Array;
  /** score name → value (p(class), keyword probability, unit activation…) */
  scores: Record<string, number>;
  /**
   * room condition id → the names (keys of `scores`) of the scores that measure that condition, in order, as
   * the sampler scored this frame. A condition that produced no score (disabled, weight 0, no value) is absent;
   * scores of no condition (contextError, the inpainting mask) are in no list.
   */
  conditionScores: Record<string, string[]>;
  hNorm: number;
  /** exact modes (mala, hmc): the share of Metropolis–Hastings proposals accepted so far */
  acceptRate?: number;
  at: number;
}

export const ActivityItem = z.object({
  version: z.number().int(),
  author: z.string(),
  authorName: z.string(),
  summary: z.string(),
  at: z.number(),
});
export type ActivityItem = z.infer<typeof ActivityItem>;

/** A person's credential: minted by the engine, kept by the browser, sent in the Socket.IO handshake. */
export const CREDENTIAL_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;

/**
 * The Socket.IO handshake `auth`: the credential the engine minted for this browser (absent the
 * first time). The engine derives the person id from it; who you are is never taken from a payload.
 */
export interface SocketAuth {
  credential?: string;
}

/**
 * The version of this protocol (events, payloads, error reasons). A client sends it when it joins; an engine that
 * speaks another version refuses the join with reason `protocol` (the page should be reloaded).
 */
export const PROTOCOL_VERSION = 2;

export const JoinRequest = z.object({
  /** the client's PROTOCOL_VERSION (absent: a client from before versioning, taken as compatible) */
  protocol: z.number().int().min(1).max(1000).optional(),
  roomId: z.string().min(1).max(64),
  token: z.string().min(1).max(128),
  name: z.string().trim().min(1).max(LIMITS.nameLength),
  /** the last version this client saw, for resync after a reconnect */
  sinceVersion: z.number().int().nonnegative().optional(),
});
export type JoinRequest = z.infer<typeof JoinRequest>;

export type JoinResult =
  | {
      ok: true;
      /** your person id, derived by the engine from your credential */
      userId: string;
      /** a credential minted for you by this join (you had none, or an unknown one): keep it and send it from now on */
      credential?: string;
      role: Role;
      /** full state, or null when `patches` bring the client up to date */
      state: RoomState | null;
      patches: RoomPatch[];
      members: Member[];
      activity: ActivityItem[];
      /** the pack's conditions, typed: what each condition id is and what it can target */
      pack: { id: string; conditions: ConditionSpec[] };
      /** the engine's PROTOCOL_VERSION */
      protocol: number;
    }
  /** not_found: no such room; forbidden: the link is not valid or you were removed; invalid: a bad request;
   *  unavailable / internal / rate_limited: try again later */
  | { ok: false; code: ErrorCode; error: string; reason?: ErrorReason };

/** Changes to a list of records with ids: the records added or changed, the ids removed, the new order if it moved. */
export interface RecordDiff<T> {
  put?: T[];
  remove?: string[];
  /** every record went (mask cleared): cheaper than listing them */
  clear?: true;
  order?: string[];
}

/**
 * One version step, at record granularity: a stroke adds one stroke, a slider sends one parameter,
 * an edited condition sends that condition — never the whole room.
 */
/** One of a pack's conditions as the engine tells clients: its kind decides what it can target. */
export type ConditionSpec =
  | { id: string; kind: 'classes'; labels: string[] }
  | {
      id: string;
      kind: 'keywords';
      vocabulary: string[];
      /** the pack's lexicon for this condition (words of other languages → keywords), fetched from `/packs/:id/lexicon/:condition.json` */
      lexicon?: { words: number; languages: string[] };
    }
  | { id: string; kind: 'units'; layers: { name: string; channels: number }[] };

export interface RoomPatch {
  version: number;
  author: string;
  /** scalar fields that changed, with their new values */
  set: Partial<
    Pick<RoomState, 'name' | 'packId' | 'running' | 'locked' | 'context' | 'start' | 'overrides' | 'effective'>
  >;
  /** sampler parameters that changed */
  params?: Partial<SamplerParams>;
  conditions?: RecordDiff<RoomCondition>;
  strokes?: RecordDiff<MaskStroke>;
}

/** The keys of RoomState a patch changes. */
export function patchKeys(p: RoomPatch): (keyof RoomState)[] {
  const keys = Object.keys(p.set) as (keyof RoomState)[];
  if (p.params && Object.keys(p.params).length) keys.push('params');
  if (p.conditions) keys.push('conditions');
  if (p.strokes) keys.push('strokes');
  return keys;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffRecords<T extends { id: string }>(before: T[], after: T[]): RecordDiff<T> | undefined {
  if (after.length === 0 && before.length > 0) return { clear: true };
  const old = new Map(before.map((r) => [r.id, r]));
  const ids = new Set(after.map((r) => r.id));
  // records are replaced, never edited in place: the same object is the same record
  const put = after.filter((r) => {
    const o = old.get(r.id);
    return o !== r && !sameJson(o, r);
  });
  const remove = before.filter((r) => !ids.has(r.id)).map((r) => r.id);
  const d: RecordDiff<T> = {};
  if (put.length) d.put = structuredClone(put);
  if (remove.length) d.remove = remove;
  const naive = applyRecords(before, d).map((r) => r.id);
  if (
    !sameJson(
      naive,
      after.map((r) => r.id),
    )
  )
    d.order = after.map((r) => r.id);
  return Object.keys(d).length ? d : undefined;
}

export function applyRecords<T extends { id: string }>(list: T[], d: RecordDiff<T>): T[] {
  if (d.clear) list = [];
  const removed = new Set(d.remove ?? []);
  const out = list.filter((r) => !removed.has(r.id));
  for (const r of d.put ?? []) {
    const i = out.findIndex((x) => x.id === r.id);
    if (i >= 0) out[i] = structuredClone(r);
    else out.push(structuredClone(r));
  }
  if (d.order) {
    const by = new Map(out.map((r) => [r.id, r]));
    return d.order.map((id) => by.get(id)).filter((r): r is T => r !== undefined);
  }
  return out;
}

/** The record-level patch that takes `before` to `after` (same version numbering is the caller's). */
export function diffState(before: RoomState, after: RoomState): Omit<RoomPatch, 'version' | 'author'> {
  const patch: Omit<RoomPatch, 'version' | 'author'> = { set: {} };
  for (const k of ['name', 'packId', 'running', 'locked', 'context', 'start', 'overrides', 'effective'] as const) {
    if (!sameJson(before[k], after[k])) (patch.set as Record<string, unknown>)[k] = structuredClone(after[k]);
  }
  const params: Partial<SamplerParams> = {};
  for (const k of Object.keys(after.params) as (keyof SamplerParams)[]) {
    if (before.params[k] !== after.params[k]) (params as Record<string, unknown>)[k] = after.params[k];
  }
  if (Object.keys(params).length) patch.params = params;
  const conditions = diffRecords(before.conditions, after.conditions);
  if (conditions) patch.conditions = conditions;
  const strokes = diffRecords(before.strokes, after.strokes);
  if (strokes) patch.strokes = strokes;
  return patch;
}

export type Ack = { ok: true; version: number } | { ok: false; error: string };

/** a person's id as the engine issues them ("p" + 16 characters); longer ones are refused before any work */
const PersonId = z.string().min(1).max(64, 'user ids are at most 64 characters');

export const AdminAction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('kick'), userId: PersonId }),
  z.object({ type: z.literal('role'), userId: PersonId, role: Role }),
]);
export type AdminAction = z.infer<typeof AdminAction>;

export const PresenceUpdate = z.object({
  cursor: z
    .tuple([finite.min(0).max(1), finite.min(0).max(1)])
    .nullable()
    .optional(),
  painting: z.boolean().optional(),
  following: z.string().max(64).nullable().optional(),
  viewing: z.number().int().min(0).max(1e9).nullable().optional(),
  name: z.string().trim().min(1).max(LIMITS.nameLength).optional(),
});
export type PresenceUpdate = z.infer<typeof PresenceUpdate>;

/** Typed Socket.IO event maps (socket.io's generics). */
export interface ServerToClientEvents {
  'room:patch': (patch: RoomPatch) => void;
  'room:frame': (frame: Frame) => void;
  'room:members': (members: Member[]) => void;
  'room:activity': (item: ActivityItem) => void;
  'room:error': (e: { error: string; intent?: string }) => void;
  'room:kicked': (e: { reason: string }) => void;
  'room:role': (e: { role: Role }) => void;
  /** the room moved to another engine (cluster failover or drain): join again to resync from your version */
  'room:moved': (e: { roomId: string }) => void;
}

export interface ClientToServerEvents {
  'room:join': (req: JoinRequest, ack: (res: JoinResult) => void) => void;
  'room:intent': (intent: IntentInput, ack?: (res: Ack) => void) => void;
  'room:presence': (p: PresenceUpdate) => void;
  'room:admin': (a: AdminAction, ack?: (res: Ack) => void) => void;
}

/** First zod issue as one readable line: "params.eps1: must be a finite number". */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid input';
  const where = issue.path.map(String).join('.');
  return where ? `${where}: ${issue.message}` : issue.message;
}

/** Apply a server patch to a local copy of the state; throws if a version was missed. */
export function applyPatch(state: RoomState, patch: RoomPatch): RoomState {
  if (patch.version !== state.version + 1) throw new Error(`patch ${patch.version} does not follow ${state.version}`);
  const next: RoomState = { ...state, ...structuredClone(patch.set), version: patch.version };
  if (patch.params) next.params = { ...state.params, ...patch.params };
  if (patch.conditions) next.conditions = applyRecords(state.conditions, patch.conditions);
  if (patch.strokes) next.strokes = applyRecords(state.strokes, patch.strokes);
  return next;
}
