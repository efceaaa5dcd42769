// A room's recipe (its versioned state) → the sampler's inputs: terms, the condition, the config and the settings in
// effect, and the record-level change a patch makes. Pure functions, used by the rooms and by the sampler workers.
import {
  Condition,
  PpgnInputError,
  checkCondition,
  decodePng,
  packImageLimits,
  resizeImage,
  type Pack,
  resolveConfig,
  type SamplerConfig,
  type SamplerConfigInput,
  type Term,
} from '@ppgn/core';
import type { ChainChange } from './sampling/protocol';
import {
  SamplerMode,
  TUNABLE,
  ignoredByMode,
  type EffectiveSettings,
  type MaskStroke,
  type RoomCondition,
  type RoomPatch,
  type RoomState,
  type SamplerParams,
  type Tunable,
} from '@ppgn/shared';
import { DEFAULT_PARAMS } from './rooms/defaults';

/**
 * The parameters a new room on this pack starts with: the pack's tuned class settings, and the inpainting
 * weight ε4 of its context settings (so that a painted mask with a context frame works out of the box).
 */
export function packParams(pack: Pack): Partial<SamplerParams> {
  const d = pack.manifest.defaults?.classes;
  const out: Partial<SamplerParams> = {};
  if (d) {
    if (d.eps1 !== undefined) out.eps1 = d.eps1;
    if (d.eps2 !== undefined) out.eps2 = d.eps2;
    if (d.eps3 !== undefined) out.eps3 = d.eps3;
    if (d.eps4 !== undefined) out.eps4 = d.eps4;
    if (d.lr !== undefined) out.lr = d.lr;
    if (d.lrEnd !== undefined) out.lrEnd = d.lrEnd;
    if (d.steps !== undefined) out.lrSteps = d.steps;
    if (d.resetEvery !== undefined) out.resetEvery = d.resetEvery;
    if (d.jitter !== undefined) out.jitter = d.jitter;
  }
  const ctx = pack.manifest.defaults?.context?.eps4;
  if (ctx !== undefined && out.eps4 === undefined) out.eps4 = ctx;
  return out;
}

/**
 * A room's sampler settings as the sampler takes them: the room's mode and seed, and the values of the settings
 * people overrode (`overrides`); everything else is left to @ppgn/core `resolveConfig`, which layers the pack's
 * tunings for the mode and the condition kind. ε keeps one meaning in every mode: ε1 prior, ε2 condition,
 * ε3 noise (std), ε4 context.
 */
export function samplerConfig(p: SamplerParams, pack: Pack, overrides: readonly Tunable[] = []): SamplerConfigInput {
  const set = new Set(overrides);
  const pick = <T>(k: Tunable, v: T): T | undefined => (set.has(k) ? v : undefined);
  const common = {
    lr: pick('lr', p.lr),
    lrEnd: pick('lrEnd', p.lrEnd),
    steps: pick('lrSteps', p.lrSteps),
    resetEvery: pick('resetEvery', p.resetEvery),
  };
  // transformation robustness: the view G(h) is read through (ppgn, h-DAE and DGN-AM steps)
  const jitter = pick('jitter', p.jitter);
  const eps = {
    eps1: pick('eps1', p.eps1),
    eps2: pick('eps2', p.eps2),
    eps3: pick('eps3', p.eps3),
    eps4: pick('eps4', p.eps4),
  };
  const out = ((): SamplerConfigInput => {
    switch (p.mode) {
      case 'ppgn':
        return { ...common, ...eps, jitter, mode: 'ppgn', prior: 'eg' };
      case 'hdae':
        return { ...common, ...eps, jitter, mode: 'ppgn', prior: pack.hdae ? 'hdae' : 'eg' };
      case 'dgnam':
        return { ...common, ...eps, jitter, eps1: 0, mode: 'dgnam', prior: 'l2', decay: pick('decay', p.decay) };
      case 'mala':
      case 'hmc':
        // exact samplers of p(h|y) ∝ p(y|G(h))^ε2 · N(h; 0, I): the step τ (and HMC's leapfrog count) set the move
        return {
          mode: p.mode,
          eps2: eps.eps2,
          eps4: eps.eps4,
          stepSize: pick('stepSize', p.stepSize),
          leapfrog: p.mode === 'hmc' ? pick('leapfrog', p.leapfrog) : undefined,
        };
      case 'fast':
        // SGLD on p(y|h) with the h-DAE prior: room ε1 → prior weight, ε2 → condition-gradient scale,
        // ε3 → noise std (core's fast ε2 is a variance)
        return {
          ...common,
          mode: 'fast',
          prior: pack.hdae ? 'hdae' : 'none',
          normalize: false,
          fastPrior: pack.hdae ? pick('eps1', p.eps1) : undefined,
          eps1: pick('eps2', p.eps2),
          eps2: set.has('eps3') ? p.eps3 * p.eps3 : undefined,
        };
    }
  })();
  for (const k of Object.keys(out) as (keyof SamplerConfigInput)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * The overrides of a room stored before overrides were kept, or of new room parameters someone gave (a fork,
 * a remix, the API): the settings whose value differs from what a new room on the pack starts with.
 */
export function overridesOf(p: Partial<SamplerParams>, pack: Pack): Tunable[] {
  const start: SamplerParams = { ...DEFAULT_PARAMS, ...packParams(pack) };
  return TUNABLE.filter((k) => p[k] !== undefined && p[k] !== start[k]);
}

/**
 * What the chain of this state runs with, in the room's own terms (the one resolution the sampler makes, mapped
 * back), and the settings its mode ignores, with the reason. The studio's panel shows exactly this.
 */
export function effectiveSettings(
  state: Pick<RoomState, 'conditions' | 'context' | 'strokes' | 'params' | 'overrides'>,
  pack: Pack,
): EffectiveSettings {
  const mode = state.params.mode;
  let cfg: SamplerConfig;
  // built once for the resolution and every mode's check
  let cond: Condition | undefined;
  try {
    cond = checkedCondition(state, pack);
    cfg = resolveConfig(pack, cond, samplerConfig(state.params, pack, state.overrides));
  } catch {
    // a state the sampler refuses (its chain is paused with the reason): show what the room holds
    const { eps1, eps2, eps3, eps4, lr, lrEnd, lrSteps, decay, resetEvery } = state.params;
    const { stepSize = 0.01, leapfrog = 10, jitter = 0 } = state.params;
    const values = { eps1, eps2, eps3, eps4, lr, lrEnd, lrSteps, decay, resetEvery, stepSize, leapfrog, jitter };
    return { values, ignored: {}, unavailable: unavailableModes(state, pack, cond) };
  }
  const fast = mode === 'fast';
  const values: Record<Tunable, number> = {
    eps1: fast ? cfg.fastPrior : cfg.eps1,
    eps2: fast ? cfg.eps1 : cfg.eps2,
    eps3: fast ? Math.sqrt(cfg.eps2) : cfg.eps3,
    eps4: cfg.eps4,
    lr: cfg.lr,
    lrEnd: cfg.lrEnd,
    lrSteps: cfg.steps,
    decay: cfg.decay,
    resetEvery: cfg.resetEvery,
    stepSize: cfg.stepSize,
    leapfrog: cfg.leapfrog,
    jitter: cfg.jitter,
  };
  const ignored = ignoredByMode(mode, { hdae: !!pack.hdae });
  return { values, ignored, unavailable: unavailableModes(state, pack, cond) };
}

/** Why each mode the room is not in could not sample its conditions now (the sampler's own checks). */
function unavailableModes(
  state: Pick<RoomState, 'conditions' | 'context' | 'strokes' | 'params' | 'overrides'>,
  pack: Pack,
  cond?: Condition,
): Partial<Record<SamplerParams['mode'], string>> {
  const out: Partial<Record<SamplerParams['mode'], string>> = {};
  for (const mode of SamplerMode.options) {
    if (mode === state.params.mode) continue;
    if (mode === 'fast' && !pack.fastMlp) {
      out[mode] = 'this pack has no fast-mode classifier';
      continue;
    }
    const problem = samplingProblem({ ...state, params: { ...state.params, mode } }, pack, cond);
    if (problem) out[mode] = problem;
  }
  return out;
}

/**
 * The sampler term of a room condition; the term carries the condition's id, so its scores come back under it.
 * `placeholder`: an image reference gets blank pixels instead of its decoded PNG (for checks that need its kind
 * and layer only: no decoding on the engine's main thread).
 */
export function termOf(c: RoomCondition, pack: Pack, placeholder = false): Term {
  const t = c.target;
  const id = c.id;
  switch (t.kind) {
    case 'class':
      return { kind: 'class', id, labels: t.labels, variant: t.variant, condition: t.condition, weight: c.weight };
    case 'text':
      return { kind: 'text', id, text: t.text, condition: t.condition, weight: c.weight };
    case 'image': {
      const [H, W, C] = pack.imageShape;
      if (placeholder)
        return {
          kind: 'imageRef',
          id,
          image: { shape: [H, W, C], data: new Float32Array(H * W * C) },
          weight: c.weight,
        };
      let img = decodePng(
        Buffer.from(t.png, 'base64'),
        C as 1 | 3,
        pack.manifest.image.range,
        packImageLimits(pack.imageShape),
      );
      if (img.shape[0] !== H || img.shape[1] !== W) img = resizeImage(img, H, W);
      return { kind: 'imageRef', id, image: { shape: [H, W, C], data: img.data }, weight: c.weight };
    }
    case 'unit': {
      const spec = pack.manifest.conditions.find((s) => s.id === t.condition);
      return {
        kind: 'unit',
        id,
        layer: t.layer,
        channel: t.channel,
        x: t.x,
        y: t.y,
        net: spec?.net ?? 'E',
        weight: c.weight,
      };
    }
  }
}

/** Rasterise mask strokes to [H, W] with 1 = known (painted) pixels, 0 = to be generated. */
export function rasteriseMask(strokes: MaskStroke[], H: number, W: number): Float32Array {
  const m = new Float32Array(H * W);
  for (const s of strokes) {
    const r = s.radius * W;
    const pts = s.points.map(([x, y]) => [x * W, y * H] as const);
    const segs = pts.length === 1 ? [[pts[0]!, pts[0]!]] : pts.slice(1).map((p, i) => [pts[i]!, p]);
    for (const [a, b] of segs) {
      const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
      const x1 = Math.min(W - 1, Math.ceil(Math.max(a[0], b[0]) + r));
      const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
      const y1 = Math.min(H - 1, Math.ceil(Math.max(a[1], b[1]) + r));
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len2 = dx * dx + dy * dy;
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5;
          const py = y + 0.5;
          const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len2));
          const ex = a[0] + t * dx - px;
          const ey = a[1] + t * dy - py;
          if (ex * ex + ey * ey <= r * r) m[y * W + x] = s.erase ? 0 : 1;
        }
    }
  }
  return m;
}

/** The sampler condition of a room: its enabled conditions, plus the inpainting context if any. */
export function roomCondition(
  state: Pick<RoomState, 'conditions' | 'context' | 'strokes'>,
  pack: Pack,
  context: { image: Float32Array } | null,
  placeholders = false,
  /** the term of a condition (the sampler keeps decoded pictures across changes) */
  termFor: (c: RoomCondition) => Term = (c) => termOf(c, pack, placeholders),
): Condition {
  const terms: Term[] = state.conditions.filter((c) => c.enabled && c.weight !== 0).map(termFor);
  if (context && state.context && state.strokes.length > 0) {
    const [H, W, C] = pack.imageShape;
    terms.push({
      kind: 'context',
      image: { shape: [H, W, C], data: context.image },
      mask: { shape: [H, W], data: rasteriseMask(state.strokes, H, W) },
      weight: 1,
    });
  }
  return new Condition(terms);
}

/** The state's condition as the checks see it: image references and the inpainting context as placeholders. */
function checkedCondition(state: Pick<RoomState, 'conditions' | 'context' | 'strokes'>, pack: Pack): Condition {
  const [H, W, C] = pack.imageShape;
  const context = state.context && state.strokes.length > 0 ? { image: new Float32Array(H * W * C) } : null;
  return roomCondition(state, pack, context, true);
}

/**
 * Why a chain could not sample this state (its conditions, mode and inpainting context taken together, checked
 * as the sampler checks them), or null when it can: a change that would lead there is refused before it applies.
 */
export function samplingProblem(
  state: Pick<RoomState, 'conditions' | 'context' | 'strokes' | 'params' | 'overrides'>,
  pack: Pack,
  /** the state's checkedCondition, when the caller has it already */
  cond?: Condition,
): string | null {
  try {
    const input = samplerConfig(state.params, pack, state.overrides);
    const c = cond ?? checkedCondition(state, pack);
    checkCondition(pack, c, input.mode ?? 'ppgn');
    // the settings themselves (a shift too large for this pack's pictures, …)
    resolveConfig(pack, c, input);
    return null;
  } catch (err) {
    if (err instanceof PpgnInputError) return err.message;
    throw err;
  }
}

/** What a patch changes in what the chain samples, record by record (null: nothing the chain sees). */
export function chainChange(patch: RoomPatch, state: RoomState, contextImage: Float32Array | null): ChainChange | null {
  const change: ChainChange = {};
  if (patch.conditions) change.conditions = patch.conditions;
  if (patch.strokes) change.strokes = patch.strokes;
  if (patch.params) change.params = state.params;
  if (patch.set.overrides) change.overrides = state.overrides;
  if ('context' in patch.set) change.context = { ref: state.context, image: contextImage };
  return Object.keys(change).length ? change : null;
}
