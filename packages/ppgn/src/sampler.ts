/**
 * Batched, seeded samplers in code space h (the objective and its gradient: objective.ts).
 *
 *  ppgn / dgnam (MALA-approx, METHOD.md):
 *    d = ε1·(R(h) − h) + ε2·∂log p(y|G(h))/∂h + ε4·∂ctx/∂h + N(0, ε3²)
 *    h ← h + lr_t/mean|d|·d   (normalize = true, the reference implementation's update)
 *    h ← h + lr_t·d           (normalize = false, eq. 11 with lr = 1)
 *    prior R: 'eg' R = E(G(h)), 'hdae' R = hdae(h), 'l2' h ← (1−λ)h (DGN-AM, ε1 = 0), 'none'.
 *    then clip to the code range. lr_t goes linearly lr → lrEnd over `steps`.
 *    jitter J > 0: the condition nets read G(h) rolled by a random offset in [−J, J]² each step (see `jitter`).
 *  fast (seed 001): SGLD on the fastMlp p(y|h): h ← h + ε1·∇log p(y|h) + N(0, ε2·I)  (ε2 is a variance),
 *    plus, with prior 'hdae' and fastPrior > 0, the h-DAE prior term fastPrior·(hdae(h) − h) that keeps h
 *    where real codes live (G stays out of the loop either way).
 *  mala / hmc (seed 000): exact samplers of p(h|y) ∝ p(y|G(h))^ε2 · N(h; 0, I) with Metropolis–Hastings.
 *
 * One `stepBatch` call advances many independent chains (different conditions, ε, masks) with one
 * batched forward/backward per mode. Each chain owns its RNG state, so a chain produces the same
 * numbers whether it is stepped alone or inside a batch.
 */
import { currentRuntime, type ForwardPass } from './runtime/index';
import { concat, evaluate, preprocessArray, type EvalOutput, type EvalScores } from './objective';
import { Rng, seedState, type RngState } from './rng';
import { PpgnInputError, finiteNumber } from './errors';
import {
  Condition,
  resolveCondition,
  imageData,
  preprocessOf,
  type ResolvedCondition,
  type Term,
  type ImageInput,
} from './conditions';
import type { Pack, EpsDefaults } from './pack';

export type Mode = 'ppgn' | 'dgnam' | 'fast' | 'mala' | 'hmc';
export const MODES: Mode[] = ['ppgn', 'dgnam', 'fast', 'mala', 'hmc'];
export type PriorKind = 'eg' | 'hdae' | 'l2' | 'none';

export interface SamplerConfig {
  mode: Mode;
  prior: PriorKind;
  eps1: number;
  eps2: number;
  eps3: number;
  eps4: number;
  lr: number;
  lrEnd: number;
  /** length of the lr schedule (and the default number of steps for `runChains`) */
  steps: number;
  normalize: boolean;
  /** clip range of h; null entries = unbounded; null = no clipping */
  clip: [number | null, number | null] | null;
  /** re-draw h every N steps (0 = never) */
  resetEvery: number;
  /** L2 decay λ for the 'l2' prior (DGN-AM) */
  decay: number;
  /** exact modes: MALA step τ / HMC leapfrog step */
  stepSize: number;
  /** HMC leapfrog steps */
  leapfrog: number;
  /** fast mode: weight of the h-DAE prior term (prior 'hdae'); 0 = plain SGLD as in seed 001 */
  fastPrior: number;
  /**
   * ppgn / dgnam: transformation robustness. Each step the condition nets see G(h) rolled by a random whole-pixel
   * offset of up to ±jitter in each direction (from the chain's RNG; their gradient is rolled back), so the chain
   * cannot fool them with pixel-exact patterns. 0 = off.
   */
  jitter: number;
}

export type SamplerConfigInput = Partial<SamplerConfig>;

export interface ChainState {
  id: string;
  seed: number;
  h: Float32Array;
  /** steps taken so far */
  step: number;
  rng: RngState;
  config: SamplerConfig;
  condition: Condition;
  /** exact modes: MH statistics */
  accepted: number;
  proposed: number;
  /** internal caches (resolved condition, exact-mode log density) – not serialisable */
  cache?: ChainCache;
}

interface ChainCache {
  condRef?: unknown;
  resolved?: ResolvedCondition;
  exactKey?: string;
  logp?: number;
  grad?: Float32Array;
  scores?: EvalScores;
}

export interface ChainResult {
  id: string;
  /** steps taken after this call */
  step: number;
  /** ‖h‖₂ after the step */
  hNorm: number;
  /** per-term scores, evaluated at h before the update (or at the accepted point in exact modes) */
  scores: Record<string, number>;
  /** term id → the names (keys of `scores`) of the scores that term produced, in order; terms without an id are not listed */
  termScores: Record<string, string[]>;
  /** probability of the first targeted class (or null) */
  pTarget: number | null;
  /** softmax of the pack's first classes condition, if it was evaluated */
  classProbs?: number[];
  /** weighted condition objective Σ w·log-term (without ε) */
  objective: number;
  /** exact modes */
  accepted?: boolean;
  acceptRate?: number;
  /** G(h) after the step, [H, W, C] in the pack's range (only with {render: true}) */
  image?: Float32Array;
  warnings?: string[];
}

// ---------------------------------------------------------------------------------------------
// configuration

const BASE_DEFAULTS: Record<Mode, SamplerConfig> = {
  ppgn: {
    mode: 'ppgn',
    prior: 'eg',
    eps1: 1e-5,
    eps2: 1,
    eps3: 1e-17,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    steps: 200,
    normalize: true,
    clip: null,
    resetEvery: 0,
    decay: 0,
    stepSize: 0.01,
    leapfrog: 10,
    fastPrior: 0,
    jitter: 0,
  },
  dgnam: {
    mode: 'dgnam',
    prior: 'l2',
    eps1: 0,
    eps2: 1,
    eps3: 0,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    steps: 200,
    normalize: true,
    clip: null,
    resetEvery: 0,
    decay: 0.01,
    stepSize: 0.01,
    leapfrog: 10,
    fastPrior: 0,
    jitter: 0,
  },
  fast: {
    mode: 'fast',
    prior: 'none',
    eps1: 1e-3,
    eps2: 1e-8,
    eps3: 0,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    steps: 200,
    normalize: false,
    clip: null,
    resetEvery: 0,
    decay: 0,
    stepSize: 0.01,
    leapfrog: 10,
    fastPrior: 0,
    jitter: 0,
  },
  mala: {
    mode: 'mala',
    prior: 'none',
    eps1: 0,
    eps2: 1,
    eps3: 0,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    steps: 1000,
    normalize: false,
    clip: [null, null],
    resetEvery: 0,
    decay: 0,
    stepSize: 0.01,
    leapfrog: 10,
    fastPrior: 0,
    jitter: 0,
  },
  hmc: {
    mode: 'hmc',
    prior: 'none',
    eps1: 0,
    eps2: 1,
    eps3: 0,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    steps: 500,
    normalize: false,
    clip: [null, null],
    resetEvery: 0,
    decay: 0,
    stepSize: 0.05,
    leapfrog: 10,
    fastPrior: 0,
    jitter: 0,
  },
};

/** official per-kind settings (METHOD.md), used when the pack declares none */
const KIND_DEFAULTS: Record<string, EpsDefaults> = {
  classes: { eps1: 1e-5, eps2: 1, eps3: 1e-17, lr: 1, lrEnd: 1, steps: 200 },
  units: { eps1: 1e-5, eps2: 1, eps3: 1e-17, lr: 1, lrEnd: 1, steps: 1000, resetEvery: 100 },
  keywords: { eps1: 1e-3, eps2: 1, eps3: 1e-17, lr: 1, lrEnd: 1e-10, steps: 200 },
  context: { eps1: 1e-5, eps2: 1, eps3: 0, eps4: 1e-9, lr: 1, lrEnd: 1, steps: 20 },
  imageRef: { eps1: 1e-5, eps2: 1, eps3: 1e-17, lr: 1, lrEnd: 1, steps: 200 },
};

function conditionKind(c: Condition): string | undefined {
  const ts = c.terms;
  if (ts.some((t) => t.kind === 'context')) return 'context';
  const t = ts[0];
  if (!t) return undefined;
  return t.kind === 'class'
    ? 'classes'
    : t.kind === 'text' || t.kind === 'keywords'
      ? 'keywords'
      : t.kind === 'unit'
        ? 'units'
        : t.kind;
}

/** Effective config: mode defaults < official per-kind < pack per-kind < pack condition < user. */
export function resolveConfig(pack: Pack, condition: Condition, user: SamplerConfigInput = {}): SamplerConfig {
  if (user === null || typeof user !== 'object') throw new PpgnInputError('config must be an object', 'config');
  const mode = user.mode ?? 'ppgn';
  if (!MODES.includes(mode))
    throw new PpgnInputError(`mode must be one of ${MODES.join(', ')} (got ${String(mode)})`, 'mode');
  const cfg: SamplerConfig = { ...BASE_DEFAULTS[mode] };
  const codeClip: [number | null, number | null] = [pack.manifest.code.min, pack.manifest.code.max];
  if (mode !== 'mala' && mode !== 'hmc') cfg.clip = codeClip;
  const layers: EpsDefaults[] = [];
  if (mode === 'ppgn' || mode === 'dgnam') {
    const kind = conditionKind(condition);
    if (kind) {
      if (KIND_DEFAULTS[kind]) layers.push(KIND_DEFAULTS[kind]);
      const pk = pack.manifest.defaults?.[kind as keyof NonNullable<typeof pack.manifest.defaults>];
      if (pk) layers.push(pk);
      const first = condition.terms[0] as Term & { condition?: string };
      const cs = pack.manifest.conditions.find((c) => (first?.condition ? c.id === first.condition : c.kind === kind));
      if (cs?.defaults) layers.push(cs.defaults);
    }
  }
  // the pack's tuned settings for the mode itself (fast, dgnam, mala, hmc; there is no 'ppgn' entry)
  const md = pack.manifest.defaults?.[mode as keyof NonNullable<typeof pack.manifest.defaults>];
  if (md) layers.push(md);
  for (const l of layers)
    for (const [k, v] of Object.entries(l)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  if (mode === 'dgnam') {
    cfg.eps1 = 0;
    cfg.prior = 'l2';
  }
  // a user lr without lrEnd keeps the schedule's shape (lrEnd scaled by the same ratio)
  if (user.lr !== undefined && user.lrEnd === undefined && typeof user.lr === 'number' && cfg.lr > 0)
    cfg.lrEnd = (cfg.lrEnd / cfg.lr) * user.lr;
  for (const [k, v] of Object.entries(user)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  cfg.mode = mode;
  validateConfig(pack, cfg);
  return cfg;
}

export function validateConfig(pack: Pack, c: SamplerConfig): void {
  for (const k of ['eps1', 'eps2', 'eps3', 'eps4', 'lr', 'lrEnd', 'decay', 'fastPrior'] as const)
    finiteNumber(c[k], k, { min: 0 });
  if (c.decay >= 1) throw new PpgnInputError(`decay must be < 1 (got ${c.decay})`, 'decay');
  finiteNumber(c.steps, 'steps', { integer: true, min: 1 });
  finiteNumber(c.resetEvery, 'resetEvery', { integer: true, min: 0 });
  finiteNumber(c.stepSize, 'stepSize', { min: 0 });
  if (!(c.stepSize > 0)) throw new PpgnInputError('stepSize must be > 0', 'stepSize');
  finiteNumber(c.leapfrog, 'leapfrog', { integer: true, min: 1, max: 1000 });
  const [H, W] = pack.imageShape;
  finiteNumber(c.jitter, 'jitter', { integer: true, min: 0, max: Math.floor(Math.min(H, W) / 4) });
  if (typeof c.normalize !== 'boolean') throw new PpgnInputError('normalize must be a boolean', 'normalize');
  if (!['eg', 'hdae', 'l2', 'none'].includes(c.prior))
    throw new PpgnInputError(`prior must be eg, hdae, l2 or none (got ${String(c.prior)})`, 'prior');
  if (c.prior === 'hdae' && !pack.hdae)
    throw new PpgnInputError(`pack ${pack.manifest.name} has no hdae network (prior "hdae")`, 'prior');
  if (c.mode === 'fast' && !pack.fastMlp)
    throw new PpgnInputError(`pack ${pack.manifest.name} has no fastMlp network (mode "fast")`, 'mode');
  if (c.clip !== null) {
    if (!Array.isArray(c.clip) || c.clip.length !== 2)
      throw new PpgnInputError('clip must be [min, max] or null', 'clip');
    const [lo, hi] = c.clip;
    if (lo !== null) finiteNumber(lo, 'clip[0]');
    if (hi !== null) finiteNumber(hi, 'clip[1]');
    if (lo !== null && hi !== null && !(lo < hi))
      throw new PpgnInputError(`clip min must be < max (got [${lo}, ${hi}])`, 'clip');
  }
}

// ---------------------------------------------------------------------------------------------
// chain creation

export interface CreateChainOptions {
  id?: string;
  seed?: number;
  condition?: Condition | { terms: Term[] } | Term[];
  config?: SamplerConfigInput;
  /** initial code */
  h0?: Float32Array | number[];
  /** start from an image: h₀ = E(x) */
  image?: ImageInput;
}

let chainCounter = 0;

/** Draw an initial code: N(init.mean, init.std²) clipped (exact modes: N(0, I)). */
export function drawInitialCode(pack: Pack, cfg: SamplerConfig, rng: Rng): Float32Array {
  const D = pack.codeDim;
  const exact = cfg.mode === 'mala' || cfg.mode === 'hmc';
  const { mean, std } = exact ? { mean: 0, std: 1 } : pack.manifest.code.init;
  const h = rng.normals(new Float32Array(D), std, mean);
  clipInPlace(h, cfg.clip);
  return h;
}

export async function createChain(pack: Pack, opts: CreateChainOptions = {}): Promise<ChainState> {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  finiteNumber(seed, 'seed', { integer: true });
  const condition = Condition.from(opts.condition);
  const config = resolveConfig(pack, condition, opts.config ?? {});
  const chain: ChainState = {
    id: opts.id ?? `chain${++chainCounter}`,
    seed,
    h: new Float32Array(pack.codeDim),
    step: 0,
    rng: seedState(seed),
    config,
    condition,
    accepted: 0,
    proposed: 0,
  };
  await prepareChain(pack, chain);
  const rng = new Rng(chain.rng);
  if (opts.h0) {
    if (opts.h0.length !== pack.codeDim)
      throw new PpgnInputError(`h0 has ${opts.h0.length} values, the code has ${pack.codeDim}`, 'h0');
    chain.h = Float32Array.from(opts.h0);
    for (let i = 0; i < chain.h.length; i++)
      if (!Number.isFinite(chain.h[i])) throw new PpgnInputError(`h0[${i}] is not finite`, 'h0');
  } else if (opts.image) {
    const x = imageData(pack, opts.image, 'image');
    chain.h = (await encodeImages(pack, [x]))[0];
    clipInPlace(chain.h, config.clip);
  } else {
    chain.h = drawInitialCode(pack, config, rng);
  }
  chain.rng = rng.state;
  return chain;
}

/** Change a chain's condition / config in place (validated first; on error the chain is unchanged). */
export async function updateChain(
  pack: Pack,
  chain: ChainState,
  patch: { condition?: CreateChainOptions['condition']; config?: SamplerConfigInput },
): Promise<void> {
  const condition = patch.condition !== undefined ? Condition.from(patch.condition) : chain.condition;
  const base: SamplerConfigInput = patch.config ? { ...chain.config, ...patch.config } : { ...chain.config };
  const config = resolveConfig(pack, condition, base);
  const probe: ChainState = { ...chain, condition, config, cache: undefined };
  await prepareChain(pack, probe);
  chain.condition = condition;
  chain.config = config;
  chain.cache = probe.cache;
}

/** h₀ = E(x) for images [H·W·C] in the pack's range */
export async function encodeImages(pack: Pack, images: Float32Array[]): Promise<Float32Array[]> {
  if (images.length === 0) return [];
  const x = preprocessArray(concat(images), pack, preprocessOf(pack, 'E'));
  const tap = pack.manifest.code.encoderTap;
  const data = (await currentRuntime().forward(pack.E, x, images.length, { taps: [tap] })).taps[tap];
  const D = pack.codeDim;
  return images.map((_, i) => data.slice(i * D, (i + 1) * D));
}

/** One label of a class condition and its probability. */
export interface SeenLabel {
  label: string;
  p: number;
}

/**
 * What pictures look like to a pack's class condition (default: its first, E's classes): the `k` most probable
 * labels of each image (softmax of the condition's output), most probable first. Images are [H·W·C] in the
 * pack's range.
 */
export async function classifyImages(
  pack: Pack,
  images: Float32Array[],
  opts: { condition?: string; k?: number } = {},
): Promise<SeenLabel[][]> {
  const spec = pack.manifest.conditions.find(
    (c) => c.kind === 'classes' && (opts.condition === undefined || c.id === opts.condition),
  );
  if (!spec || spec.kind !== 'classes')
    throw new PpgnInputError(
      `pack ${pack.manifest.name} has no class condition${opts.condition ? ` "${opts.condition}"` : ''}`,
      'condition',
    );
  if (images.length === 0) return [];
  const net = pack.nets[spec.net]!;
  const x = preprocessArray(concat(images), pack, preprocessOf(pack, spec.net, spec.preprocess));
  const logits = (await currentRuntime().forward(net, x, images.length, { taps: [spec.output] })).taps[spec.output]!;
  const n = spec.labels.length;
  const k = Math.min(opts.k ?? 3, n);
  return images.map((_, i) => {
    const row = logits.subarray(i * n, (i + 1) * n);
    const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
    const e = Array.from(row, (v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    return e
      .map((v, j) => ({ label: spec.labels[j]!, p: v / sum }))
      .sort((a, b) => b.p - a.p)
      .slice(0, k);
  });
}

/** G(h) for codes, optionally pasting known context pixels. Returns [H·W·C] arrays in the pack's range. */
export async function renderCodes(
  pack: Pack,
  hs: Float32Array[],
  contexts?: ({ image: Float32Array; mask: Float32Array } | undefined)[],
): Promise<Float32Array[]> {
  if (hs.length === 0) return [];
  return framesOf(pack, (await currentRuntime().forward(pack.G, concat(hs), hs.length)).output, hs.length, contexts);
}

/** G's batched output split into one image per code, with the known context pixels pasted back */
function framesOf(
  pack: Pack,
  data: Float32Array,
  count: number,
  contexts?: ({ image: Float32Array; mask: Float32Array } | undefined)[],
): Float32Array[] {
  const [H, W, C] = pack.imageShape;
  const n = H * W * C;
  return Array.from({ length: count }, (_, i) => {
    const img = data.slice(i * n, (i + 1) * n);
    const ctx = contexts?.[i];
    if (ctx) for (let k = 0; k < n; k++) img[k] = ctx.mask[k] * ctx.image[k] + (1 - ctx.mask[k]) * img[k];
    return img;
  });
}

/** Render the current h of chains (with inpainting context pasted back). */
export async function renderChains(pack: Pack, chains: ChainState[]): Promise<Float32Array[]> {
  for (const c of chains) await prepareChain(pack, c);
  return renderCodes(
    pack,
    chains.map((c) => c.h),
    chains.map((c) => c.cache?.resolved?.context),
  );
}

/** resolve (and cache) a chain's condition; computes reference-image features when needed */
async function prepareChain(pack: Pack, chain: ChainState): Promise<ResolvedCondition> {
  if (chain.cache?.resolved && chain.cache.condRef === chain.condition) return chain.cache.resolved;
  const cond = Condition.from(chain.condition);
  // reference features are computed asynchronously up front
  const refs = new Map<string, Float32Array>();
  for (const t of cond.terms) {
    if (t && t.kind === 'imageRef') {
      const netName = t.net ?? 'E';
      const net = pack.nets[netName];
      const tap = t.layer ?? (netName === 'E' ? pack.manifest.code.encoderTap : undefined);
      if (!net || !tap || !net.tapShape(tap)) continue; // resolveCondition reports it
      const img = imageData(pack, t.image, 'imageRef.image');
      const pre = preprocessOf(pack, netName);
      const f = await currentRuntime().forward(net, preprocessArray(img, pack, pre), 1, { taps: [tap] });
      refs.set(`${netName}|${tap}`, Float32Array.from(f.taps[tap]));
    }
  }
  const resolved = resolveCondition(pack, cond, (net, _pre, tap) => refs.get(`${net}|${tap}`)!);
  checkModeTerms(pack, cond, resolved, chain.config.mode);
  chain.cache = { condRef: chain.condition, resolved };
  return resolved;
}

/** What a mode cannot steer by (fast mode: the fast MLP's classes only; exact modes: log-probabilities). */
function checkModeTerms(pack: Pack, cond: Condition, resolved: ResolvedCondition, mode: SamplerConfig['mode']): void {
  if (mode === 'fast') {
    const fc = pack.manifest.networks.fastMlp?.condition;
    for (const t of cond.terms) {
      if (t.kind !== 'class')
        throw new PpgnInputError(`fast mode supports class conditions only (got ${t.kind})`, 'condition');
      if (t.condition !== undefined && t.condition !== fc)
        throw new PpgnInputError(`fast mode uses condition "${fc}" (got "${t.condition}")`, 'condition');
    }
  }
  if (
    (mode === 'mala' || mode === 'hmc') &&
    resolved.groups.some((g) => g.transform === 'logit' || g.transform === 'softmax')
  )
    throw new PpgnInputError('exact modes need log-probability terms (class variant logsoftmax)', 'condition');
}

/**
 * Would a chain in `mode` take this condition? The checks a chain makes when it resolves a condition, without
 * running a network (image references are not encoded): throws the same PpgnInputError, so a change can be
 * refused before it is applied.
 */
export function checkCondition(pack: Pack, cond: Condition, mode: SamplerConfig['mode']): void {
  checkModeTerms(
    pack,
    cond,
    resolveCondition(pack, cond, () => new Float32Array(0)),
    mode,
  );
}

// ---------------------------------------------------------------------------------------------
// helpers

function clipInPlace(h: Float32Array, clip: SamplerConfig['clip']): void {
  if (!clip) return;
  const [lo, hi] = clip;
  for (let i = 0; i < h.length; i++) {
    if (lo !== null && h[i] < lo) h[i] = lo;
    if (hi !== null && h[i] > hi) h[i] = hi;
  }
}

function norm(h: Float32Array): number {
  let s = 0;
  for (let i = 0; i < h.length; i++) s += h[i] * h[i];
  return Math.sqrt(s);
}

function lrAt(cfg: SamplerConfig, step: number): number {
  const t = Math.min(step, cfg.steps) / cfg.steps;
  return cfg.lr + (cfg.lrEnd - cfg.lr) * t;
}

// ---------------------------------------------------------------------------------------------
// stepping

export interface StepOptions {
  /** return G(h) after the step for every chain */
  render?: boolean;
}

/**
 * Advance every chain by one step (HMC: one trajectory). Chains may mix modes and conditions; chains
 * of the same mode share one batched network call. Chains are mutated (h, step, rng). All chains are
 * validated before any is changed: a bad chain throws PpgnInputError and nothing advances.
 */
export async function stepBatch(pack: Pack, chains: ChainState[], opts: StepOptions = {}): Promise<ChainResult[]> {
  if (!Array.isArray(chains)) throw new PpgnInputError('chains must be an array', 'chains');
  const ids = new Set<string>();
  for (const c of chains) {
    if (!c || !(c.h instanceof Float32Array) || c.h.length !== pack.codeDim)
      throw new PpgnInputError(`chain ${c?.id ?? '?'} has a code of the wrong size (expected ${pack.codeDim})`, 'h');
    if (ids.has(c.id)) throw new PpgnInputError(`chain ${c.id} appears twice in one batch`, 'chains');
    ids.add(c.id);
    validateConfig(pack, c.config);
  }
  const resolved: ResolvedCondition[] = [];
  for (const c of chains) resolved.push(await prepareChain(pack, c));
  const results: ChainResult[] = new Array(chains.length);
  const byMode = new Map<Mode, number[]>();
  chains.forEach((c, i) => {
    const m = c.config.mode;
    if (!byMode.has(m)) byMode.set(m, []);
    byMode.get(m)!.push(i);
  });
  for (const [mode, idx] of byMode) {
    const cs = idx.map((i) => chains[i]);
    const rs = idx.map((i) => resolved[i]);
    const out =
      mode === 'mala'
        ? await stepMala(pack, cs, rs)
        : mode === 'hmc'
          ? await stepHmc(pack, cs, rs)
          : await stepLangevin(pack, cs, rs, mode === 'fast');
    idx.forEach((i, k) => (results[i] = out[k]));
  }
  if (opts.render) {
    // chains whose step starts with G(h) (ppgn, dgnam): the frame's G pass is kept and opens their next step
    for (const mode of G_FIRST) {
      const idx = byMode.get(mode);
      if (!idx) continue;
      const imgs = await renderLookahead(
        pack,
        idx.map((i) => chains[i]),
        idx.map((i) => resolved[i].context),
      );
      imgs.forEach((im, k) => (results[idx[k]].image = im));
    }
    const rest = chains.map((_, i) => i).filter((i) => !G_FIRST.includes(chains[i].config.mode));
    if (rest.length) {
      const imgs = await renderCodes(
        pack,
        rest.map((i) => chains[i].h),
        rest.map((i) => resolved[i].context),
      );
      imgs.forEach((im, k) => (results[rest[k]].image = im));
    }
  }
  resolved.forEach((r, i) => {
    if (r.warnings.length) results[i].warnings = r.warnings;
  });
  return results;
}

// ---------------------------------------------------------------------------------------------
// frames from the step's own G pass
//
// A rendered step ends with G(h) at the new codes (the frame); the pass is kept with what G's VJP needs,
// and the next step of the same chains, in the same order, at the same codes, on the same runtime, starts
// from it instead of running G again. Anything else (another batch, a reset, h set from outside) misses
// and runs G afresh, so frames are exact either way.

interface Lookahead {
  ids: string[];
  hs: Float32Array[];
  runtime: unknown;
  pass: ForwardPass;
}

/** the modes whose step starts with G(h) at the chain's codes */
const G_FIRST: readonly Mode[] = ['ppgn', 'dgnam'];

/** per pack, per mode (chains of one mode step in one batch) */
const lookaheads = new WeakMap<Pack, Map<Mode, Lookahead>>();

function sameCode(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** the kept G pass when it was made at exactly these chains' codes (used once) */
function takeLookahead(pack: Pack, chains: ChainState[]): ForwardPass | undefined {
  const mode = chains[0]?.config.mode;
  const la = lookaheads.get(pack)?.get(mode);
  if (!la) return undefined;
  lookaheads.get(pack)!.delete(mode);
  if (la.runtime !== currentRuntime() || la.ids.length !== chains.length) return undefined;
  for (let i = 0; i < chains.length; i++)
    if (la.ids[i] !== chains[i].id || !sameCode(la.hs[i], chains[i].h)) return undefined;
  return la.pass;
}

async function renderLookahead(
  pack: Pack,
  chains: ChainState[],
  contexts: ({ image: Float32Array; mask: Float32Array } | undefined)[],
): Promise<Float32Array[]> {
  const rt = currentRuntime();
  const hs = chains.map((c) => Float32Array.from(c.h));
  const pass = await rt.forward(pack.G, concat(hs), hs.length, { keep: true });
  if (!lookaheads.has(pack)) lookaheads.set(pack, new Map());
  lookaheads.get(pack)!.set(chains[0].config.mode, { ids: chains.map((c) => c.id), hs, runtime: rt, pass });
  return framesOf(pack, pass.output, hs.length, contexts);
}

async function stepLangevin(
  pack: Pack,
  chains: ChainState[],
  resolved: ResolvedCondition[],
  fast: boolean,
): Promise<ChainResult[]> {
  const D = pack.codeDim;
  const rngs = chains.map((c) => new Rng(c.rng));
  // resets
  chains.forEach((c, b) => {
    if (c.config.resetEvery > 0 && c.step > 0 && c.step % c.config.resetEvery === 0)
      c.h = drawInitialCode(pack, c.config, rngs[b]);
  });
  const needCode = !fast && chains.some((c) => c.config.prior === 'eg' && c.config.eps1 !== 0);
  // transformation robustness: this step's offsets, drawn only by chains that jitter (the others' numbers stay as they were)
  const shifts =
    !fast && chains.some((c) => c.config.jitter > 0)
      ? chains.map((c, b) => jitterOffset(rngs[b], c.config.jitter))
      : undefined;
  const ev = await evaluate(
    pack,
    resolved,
    chains.map((c) => c.h),
    {
      gPass: fast ? undefined : takeLookahead(pack, chains),
      condScale: chains.map((c) => (fast ? c.config.eps1 : c.config.eps2)),
      ctxScale: chains.map((c, b) => c.config.eps4 * (resolved[b].context?.weight ?? 0)),
      gaussianPrior: false,
      needCode,
      needGrad: true,
      needImage: false,
      fast,
      shifts,
    },
  );
  let hdaeOut: Float32Array | undefined;
  const priorWeight = (c: ChainState) => (fast ? c.config.fastPrior : c.config.eps1);
  const hdaeChains = chains
    .map((c, b) => (c.config.prior === 'hdae' && priorWeight(c) !== 0 ? b : -1))
    .filter((b) => b >= 0);
  if (hdaeChains.length) {
    hdaeOut = (await currentRuntime().forward(pack.hdae!, concat(chains.map((c) => c.h)), chains.length)).output;
  }
  return chains.map((c, b) => {
    const cfg = c.config;
    const h = c.h;
    const d = new Float32Array(D);
    const grad = ev.grad!.subarray(b * D, (b + 1) * D);
    const noiseStd = fast ? Math.sqrt(cfg.eps2) : cfg.eps3;
    const noise = rngs[b].normals(new Float32Array(D), noiseStd);
    const R =
      cfg.prior === 'eg' && ev.code
        ? ev.code.subarray(b * D, (b + 1) * D)
        : cfg.prior === 'hdae' && hdaeOut
          ? hdaeOut.subarray(b * D, (b + 1) * D)
          : null;
    let absSum = 0;
    for (let i = 0; i < D; i++) {
      let v = grad[i] + noise[i];
      if (R) v += priorWeight(c) * (R[i] - h[i]);
      d[i] = v;
      absSum += Math.abs(v);
    }
    const lr = lrAt(cfg, c.step);
    const scale = cfg.normalize ? (absSum > 0 ? lr / (absSum / D) : 0) : lr;
    const keep = cfg.prior === 'l2' && !fast ? 1 - cfg.decay : 1;
    const nh = new Float32Array(D);
    for (let i = 0; i < D; i++) nh[i] = keep * h[i] + scale * d[i];
    clipInPlace(nh, cfg.clip);
    c.h = nh;
    c.step++;
    c.rng = rngs[b].state;
    const s = ev.scores[b];
    return {
      id: c.id,
      step: c.step,
      hNorm: norm(nh),
      scores: s.scores,
      termScores: s.termScores,
      pTarget: s.pTarget,
      classProbs: s.classProbs,
      objective: s.objective,
    };
  });
}

/** a whole-pixel offset [dy, dx], each uniform in [−J, J] (J = 0: no draw, [0, 0]) */
function jitterOffset(rng: Rng, J: number): [number, number] {
  if (J <= 0) return [0, 0];
  // uniform() < 1, so floor(u·(2J + 1)) ∈ [0, 2J]
  const k = 2 * J + 1;
  const dy = Math.floor(rng.uniform() * k) - J;
  const dx = Math.floor(rng.uniform() * k) - J;
  return [dy, dx];
}

function exactKey(c: ChainState): string {
  return `${c.config.eps2}|${c.config.eps4}|${c.h.length}`;
}

async function exactEval(pack: Pack, chains: ChainState[], resolved: ResolvedCondition[], hs: Float32Array[]) {
  return evaluate(pack, resolved, hs, {
    condScale: chains.map((c) => c.config.eps2),
    ctxScale: chains.map((c, b) => c.config.eps4 * (resolved[b].context?.weight ?? 0)),
    gaussianPrior: true,
    needCode: false,
    needGrad: true,
    needImage: false,
    fast: false,
  });
}

/** make sure every chain has logπ and ∇logπ cached at its current h */
async function ensureExactCache(pack: Pack, chains: ChainState[], resolved: ResolvedCondition[]): Promise<void> {
  const missing = chains
    .map((c, b) => (c.cache?.grad && c.cache.exactKey === exactKey(c) ? -1 : b))
    .filter((b) => b >= 0);
  if (!missing.length) return;
  const D = pack.codeDim;
  const ev = await exactEval(
    pack,
    missing.map((b) => chains[b]),
    missing.map((b) => resolved[b]),
    missing.map((b) => chains[b].h),
  );
  missing.forEach((b, k) => {
    const c = chains[b];
    c.cache = {
      ...c.cache,
      exactKey: exactKey(c),
      logp: ev.total[k],
      grad: ev.grad!.slice(k * D, (k + 1) * D),
      scores: ev.scores[k],
    };
  });
}

function exactResult(c: ChainState, accepted: boolean): ChainResult {
  const s = c.cache!.scores!;
  return {
    id: c.id,
    step: c.step,
    hNorm: norm(c.h),
    scores: s.scores,
    termScores: s.termScores,
    pTarget: s.pTarget,
    classProbs: s.classProbs,
    objective: s.objective,
    accepted,
    acceptRate: c.proposed ? c.accepted / c.proposed : 0,
  };
}

async function stepMala(pack: Pack, chains: ChainState[], resolved: ResolvedCondition[]): Promise<ChainResult[]> {
  const D = pack.codeDim;
  await ensureExactCache(pack, chains, resolved);
  const rngs = chains.map((c) => new Rng(c.rng));
  const props = chains.map((c, b) => {
    const tau = c.config.stepSize;
    const xi = rngs[b].normals(new Float32Array(D));
    const g = c.cache!.grad!;
    const p = new Float32Array(D);
    const s = Math.sqrt(2 * tau);
    for (let i = 0; i < D; i++) p[i] = c.h[i] + tau * g[i] + s * xi[i];
    return p;
  });
  const ev = await exactEval(pack, chains, resolved, props);
  return chains.map((c, b) => {
    const tau = c.config.stepSize;
    const h = c.h;
    const hp = props[b];
    const g = c.cache!.grad!;
    const gp = ev.grad!.subarray(b * D, (b + 1) * D);
    // log q(b|a) = −‖b − a − τ∇logπ(a)‖² / (4τ)
    let fwd = 0;
    let bwd = 0;
    for (let i = 0; i < D; i++) {
      const a = hp[i] - h[i] - tau * g[i];
      const r = h[i] - hp[i] - tau * gp[i];
      fwd += a * a;
      bwd += r * r;
    }
    const logAlpha = ev.total[b] - c.cache!.logp! + (-bwd + fwd) / (4 * tau);
    const u = rngs[b].uniform();
    const accepted = Number.isFinite(logAlpha) && Math.log(u) < logAlpha;
    c.proposed++;
    if (accepted) {
      c.accepted++;
      c.h = Float32Array.from(hp);
      c.cache = { ...c.cache, logp: ev.total[b], grad: Float32Array.from(gp), scores: ev.scores[b] };
    }
    c.step++;
    c.rng = rngs[b].state;
    return exactResult(c, accepted);
  });
}

async function stepHmc(pack: Pack, chains: ChainState[], resolved: ResolvedCondition[]): Promise<ChainResult[]> {
  const D = pack.codeDim;
  await ensureExactCache(pack, chains, resolved);
  const rngs = chains.map((c) => new Rng(c.rng));
  const B = chains.length;
  const q = chains.map((c) => Float32Array.from(c.h));
  const p = chains.map((_, b) => rngs[b].normals(new Float32Array(D)));
  const kin = (v: Float32Array) => 0.5 * v.reduce((a, x) => a + x * x, 0);
  const H0 = chains.map((c, b) => -c.cache!.logp! + kin(p[b]));
  let grads = chains.map((c) => c.cache!.grad!);
  let ev: EvalOutput | undefined;
  const L = Math.max(...chains.map((c) => c.config.leapfrog));
  for (let l = 0; l < L; l++) {
    for (let b = 0; b < B; b++) {
      if (l >= chains[b].config.leapfrog) continue;
      const tau = chains[b].config.stepSize;
      for (let i = 0; i < D; i++) {
        p[b][i] += 0.5 * tau * grads[b][i];
        q[b][i] += tau * p[b][i];
      }
    }
    const evNew = await exactEval(pack, chains, resolved, q);
    const prev = ev;
    ev = evNew;
    grads = chains.map((c, b) => (l < c.config.leapfrog ? evNew.grad!.subarray(b * D, (b + 1) * D) : grads[b]));
    for (let b = 0; b < B; b++) {
      if (l >= chains[b].config.leapfrog) continue;
      const tau = chains[b].config.stepSize;
      for (let i = 0; i < D; i++) p[b][i] += 0.5 * tau * grads[b][i];
    }
    void prev;
  }
  // chains with fewer leapfrog steps than L were evaluated at their final q again later; the
  // last evaluation is at q for every chain since q stops changing after its own L.
  return chains.map((c, b) => {
    const H1 = -ev!.total[b] + kin(p[b]);
    const logAlpha = H0[b] - H1;
    const u = rngs[b].uniform();
    const accepted = Number.isFinite(logAlpha) && Math.log(u) < logAlpha;
    c.proposed++;
    if (accepted) {
      c.accepted++;
      c.h = q[b];
      c.cache = {
        ...c.cache,
        logp: ev!.total[b],
        grad: Float32Array.from(ev!.grad!.subarray(b * D, (b + 1) * D)),
        scores: ev!.scores[b],
      };
    }
    c.step++;
    c.rng = rngs[b].state;
    return exactResult(c, accepted);
  });
}

// ---------------------------------------------------------------------------------------------
// convenience

export interface RunOptions extends StepOptions {
  steps?: number;
  onStep?: (results: ChainResult[], step: number) => void;
}

/** Run chains for `steps` steps (default: the first chain's config.steps) and render final images. */
export async function runChains(
  pack: Pack,
  chains: ChainState[],
  opts: RunOptions = {},
): Promise<{ results: ChainResult[]; images: Float32Array[] }> {
  const steps = opts.steps ?? chains[0]?.config.steps ?? 0;
  finiteNumber(steps, 'steps', { integer: true, min: 0 });
  let results: ChainResult[] = [];
  for (let s = 0; s < steps; s++) {
    results = await stepBatch(pack, chains);
    opts.onStep?.(results, s + 1);
  }
  const images = await renderChains(pack, chains);
  return { results, images };
}

/** Serialisable snapshot of a chain (for persistence); restore with `restoreChain`. */
export function snapshotChain(c: ChainState): {
  id: string;
  seed: number;
  h: number[];
  step: number;
  rng: RngState;
  config: SamplerConfig;
  condition: { terms: Term[] };
  accepted: number;
  proposed: number;
} {
  return {
    id: c.id,
    seed: c.seed,
    h: Array.from(c.h),
    step: c.step,
    rng: [...c.rng] as RngState,
    config: { ...c.config },
    condition: c.condition.toJSON(),
    accepted: c.accepted,
    proposed: c.proposed,
  };
}

export async function restoreChain(pack: Pack, s: ReturnType<typeof snapshotChain>): Promise<ChainState> {
  const condition = Condition.from(s.condition);
  const config = resolveConfig(pack, condition, s.config);
  const c: ChainState = {
    id: s.id,
    seed: s.seed,
    h: Float32Array.from(s.h),
    step: s.step,
    rng: [...s.rng] as RngState,
    config,
    condition,
    accepted: s.accepted,
    proposed: s.proposed,
  };
  if (c.h.length !== pack.codeDim)
    throw new PpgnInputError(`snapshot code has ${c.h.length} values, the pack needs ${pack.codeDim}`, 'h');
  await prepareChain(pack, c);
  return c;
}

/**
 * Weighted condition objective Σ w·term (times eps2) plus eps4·weight·context term, and its gradient
 * with respect to h, for each code in `hs` (exposed for tests, tooling and gradient checks).
 */
export async function conditionObjective(
  pack: Pack,
  condition: Condition | { terms: Term[] } | Term[],
  hs: Float32Array[],
  /** shift: the condition nets read every picture rolled by [dy, dx] px (the sampler's `jitter`, one offset) */
  opts: { eps2?: number; eps4?: number; fast?: boolean; shift?: readonly [number, number] } = {},
): Promise<{ values: Float32Array; grads: Float32Array[] }> {
  const c = Condition.from(condition);
  const chains: ChainState[] = [];
  for (let i = 0; i < hs.length; i++)
    chains.push(
      await createChain(pack, { condition: c, seed: i, h0: hs[i], config: { mode: opts.fast ? 'fast' : 'ppgn' } }),
    );
  const resolved = chains.map((ch) => ch.cache!.resolved!);
  const ev = await evaluate(pack, resolved, hs, {
    condScale: hs.map(() => opts.eps2 ?? 1),
    ctxScale: resolved.map((r) => (opts.eps4 ?? 1) * (r.context?.weight ?? 0)),
    gaussianPrior: false,
    needCode: false,
    needGrad: true,
    needImage: false,
    fast: !!opts.fast,
    shifts: opts.shift ? hs.map(() => opts.shift!) : undefined,
  });
  const D = pack.codeDim;
  return { values: ev.total, grads: hs.map((_, i) => ev.grad!.slice(i * D, (i + 1) * D)) };
}
