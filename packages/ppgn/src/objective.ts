/**
 * The sampler's objective on a batch of codes, over the active net runtime: G's forward pass, the
 * inpainting blend, every condition net's taps, the objective heads (VJP.md: log-softmax, logit, softmax,
 * log-sigmoid, hidden units, feature distance) and their gradient back to h through the nets' VJPs.
 * Plain typed-array math around two runtime calls per net; `sampler.ts` turns it into steps.
 */
import { currentRuntime, type ForwardPass } from './runtime/index';
import { preprocessOf, type ResolvedCondition, type ResolvedGroup } from './conditions';
import type { Pack, Preprocess } from './pack';

export interface EvalScores {
  scores: Record<string, number>;
  termScores: Record<string, string[]>;
  pTarget: number | null;
  classProbs?: number[];
  objective: number;
}

export function concat(arrs: Float32Array[]): Float32Array {
  const n = arrs.reduce((a, b) => a + b.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** per-channel affine map from the pack's image range to a network's expected input: x·scale + shift */
function preprocessAffine(
  pack: Pack,
  pre: Preprocess | undefined,
  C: number,
): { scale: Float32Array; shift: Float32Array } {
  const scale = new Float32Array(C).fill(1);
  const shift = new Float32Array(C);
  if (!pre) return { scale, shift };
  const from = pack.manifest.image.range;
  for (let c = 0; c < C; c++) {
    let a = 1;
    let b = 0;
    if (pre.range && pre.range !== from) [a, b] = from === '[0,1]' ? [2, -1] : [0.5, 0.5];
    if (pre.mean) b -= pre.mean[c];
    if (pre.std) {
      a /= pre.std[c];
      b /= pre.std[c];
    }
    scale[c] = a;
    shift[c] = b;
  }
  return { scale, shift };
}

/** images [.., C] in the pack's range → a network's expected input (a copy; the same array when no preprocessing) */
export function preprocessArray(x: Float32Array, pack: Pack, pre: Preprocess | undefined): Float32Array {
  if (!pre) return x;
  const C = pack.imageShape[2];
  const { scale, shift } = preprocessAffine(pack, pre, C);
  const y = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) y[k] = x[k] * scale[k % C] + shift[k % C];
  return y;
}

/** ∂(preprocessed input)/∂(image), per channel */
function preprocessScale(pack: Pack, pre: Preprocess | undefined, C: number): Float32Array {
  return preprocessAffine(pack, pre, C).scale;
}

function sqDist(a: Float32Array, t: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - t[i]) * (a[i] - t[i]);
  return s;
}

/**
 * One objective head on one chain's tap row: the value of Σ w·transform(z) and its gradient w.r.t. z
 * (VJP.md, "objective heads").
 */
function headTerm(
  tr: ResolvedGroup['transform'],
  z: Float32Array,
  g: ResolvedGroup,
  needGrad: boolean,
): { value: number; grad?: Float64Array } {
  const w = g.weights;
  const n = z.length;
  const grad = needGrad ? new Float64Array(n) : undefined;
  let value = 0;
  switch (tr) {
    case 'logsoftmax':
    case 'softmax': {
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, z[i]);
      let se = 0;
      for (let i = 0; i < n; i++) se += Math.exp(z[i] - m);
      const lse = m + Math.log(se);
      let wsum = 0;
      let pw = 0;
      for (let i = 0; i < n; i++) {
        const p = Math.exp(z[i] - lse);
        wsum += w[i];
        pw += p * w[i];
        value += tr === 'logsoftmax' ? w[i] * (z[i] - lse) : w[i] * p;
      }
      if (grad)
        for (let i = 0; i < n; i++) {
          const p = Math.exp(z[i] - lse);
          grad[i] = tr === 'logsoftmax' ? w[i] - p * wsum : p * (w[i] - pw);
        }
      break;
    }
    case 'logsigmoid':
      for (let i = 0; i < n; i++) {
        if (w[i] === 0) continue;
        // log σ(z) = −softplus(−z), stable for large |z|
        value += w[i] * -(Math.max(-z[i], 0) + Math.log1p(Math.exp(-Math.abs(z[i]))));
        if (grad) grad[i] = w[i] * (1 - 1 / (1 + Math.exp(-z[i])));
      }
      break;
    case 'l2ref': {
      const t = g.target!;
      const d = sqDist(z, t);
      value = -w[0] * d;
      if (grad) for (let i = 0; i < n; i++) grad[i] = -2 * w[0] * (z[i] - t[i]);
      break;
    }
    default:
      for (let i = 0; i < n; i++) {
        value += w[i] * z[i];
        if (grad) grad[i] = w[i];
      }
  }
  return { value, grad };
}

export interface EvalOptions {
  /** G's forward pass at exactly these codes (kept for a VJP), made by the active runtime: reused instead of a new one */
  gPass?: ForwardPass;
  /** per-chain multiplier of the condition term (ε2) */
  condScale: number[];
  /** per-chain multiplier of the context term (ε4·weight) */
  ctxScale: number[];
  /** add −½‖h‖² (exact modes) */
  gaussianPrior: boolean;
  /** read E's code tap (R = E∘G) */
  needCode: boolean;
  /** compute the gradient */
  needGrad: boolean;
  /** also render G(h) */
  needImage: boolean;
  /** fast mode: conditions read the fastMlp on h instead of G→E */
  fast: boolean;
  /**
   * per chain, a whole-pixel offset [dy, dx] by which the condition nets see the picture (a circular roll; their
   * gradient is rolled back): transformation robustness. E's code for the prior reads the picture as it is.
   */
  shifts?: (readonly [number, number])[];
}

/**
 * Roll each picture of a batch [B, H, W, C] circularly by sign·[dy, dx] (its own offset per picture): pixel (y, x)
 * moves to (y + sign·dy, x + sign·dx) mod (H, W). sign −1 undoes sign +1.
 */
export function rollImages(
  a: Float32Array,
  shape: readonly [number, number, number],
  shifts: readonly (readonly [number, number])[],
  sign: 1 | -1,
): Float32Array {
  const [H, W, C] = shape;
  const n = H * W * C;
  const row = W * C;
  const out = new Float32Array(a.length);
  shifts.forEach(([dy, dx], b) => {
    const sy = (((sign * dy) % H) + H) % H;
    const sx = ((((sign * dx) % W) + W) % W) * C;
    for (let y = 0; y < H; y++) {
      const from = b * n + y * row;
      const to = b * n + ((y + sy) % H) * row;
      // the row's first row − sx values land at sx, the rest wrap to the row's start
      out.set(a.subarray(from, from + row - sx), to + sx);
      out.set(a.subarray(from + row - sx, from + row), to);
    }
  });
  return out;
}

export interface EvalOutput {
  /** per chain: ε-scaled total objective (incl. Gaussian prior) */
  total: Float32Array;
  grad?: Float32Array;
  code?: Float32Array;
  image?: Float32Array;
  scores: EvalScores[];
}

/** One batched forward (+ backward) for chains whose codes are `hs`, on the active net runtime. */
export async function evaluate(
  pack: Pack,
  resolved: ResolvedCondition[],
  hs: Float32Array[],
  o: EvalOptions,
): Promise<EvalOutput> {
  const rt = currentRuntime();
  const B = hs.length;
  const D = pack.codeDim;
  const [H, W, C] = pack.imageShape;
  const n = H * W * C;
  const classCond = pack.manifest.conditions.find((c) => c.kind === 'classes');

  // union of groups over chains
  const groupKeys = new Map<string, ResolvedGroup>();
  for (const r of resolved) for (const g of r.groups) if (!groupKeys.has(g.key)) groupKeys.set(g.key, g);
  // default class tap for displaying class probabilities
  let displayKey: string | undefined;
  if (classCond && !o.fast) {
    const pre = preprocessOf(pack, classCond.net, classCond.preprocess);
    displayKey = `${classCond.net}|${pre ? JSON.stringify(pre) : ''}|${classCond.output}|display`;
    groupKeys.set(displayKey, {
      key: displayKey,
      net: classCond.net,
      preprocess: pre,
      tap: classCond.output,
      transform: 'logit',
      weights: new Float32Array(0),
    });
  }
  const anyContext = !o.fast && resolved.some((r) => r.context);
  const hAll = concat(hs);
  const data: Record<string, Float32Array> = {};
  const total = new Float32Array(B);
  const condValue = new Float64Array(B);

  // ---- forward: taps of every (net, preprocess) the groups read
  interface Run {
    net: string;
    pre: Preprocess | undefined;
    /** the run reads the pictures rolled by `o.shifts` */
    shifted: boolean;
    taps: Set<string>;
    pass?: ForwardPass;
    cots: Map<string, Float32Array>;
  }
  const runs = new Map<string, Run>();
  const shifts = !o.fast && o.shifts?.some(([dy, dx]) => dy !== 0 || dx !== 0) ? o.shifts : undefined;
  if (shifts && shifts.length !== B) throw new Error(`shifts: ${shifts.length} offsets for ${B} chains`);
  /** the run each group's tap comes from */
  const groupRun = new Map<string, Run>();
  /** the run of (net, preprocess), made on first use; condition nets read the shifted pictures, E's code does not */
  const runFor = (net: string, pre: Preprocess | undefined, shifted = shifts !== undefined): Run => {
    const k = runKey(net, pre, shifted);
    let r = runs.get(k);
    if (!r) runs.set(k, (r = { net, pre, shifted, taps: new Set(), cots: new Map() }));
    return r;
  };
  let gPass: ForwardPass | undefined;
  let xImage: Float32Array | undefined;
  let xs: Float32Array | undefined;
  let ctxArr: Float32Array | undefined;
  let maskArr: Float32Array | undefined;
  const runKey = (net: string, pre: Preprocess | undefined, shifted: boolean) =>
    `${net}|${pre ? JSON.stringify(pre) : ''}${shifted ? '|shifted' : ''}`;
  if (o.fast) {
    const run: Run = { net: 'fastMlp', pre: undefined, shifted: false, taps: new Set(), cots: new Map() };
    run.pass = await rt.forward(pack.fastMlp!, hAll, B, { keep: o.needGrad });
    runs.set('fast', run);
    for (const g of groupKeys.values()) data[`tap:${g.key}`] = run.pass.output;
  } else {
    gPass = o.gPass ?? (await rt.forward(pack.G, hAll, B, { keep: o.needGrad }));
    xImage = gPass.output;
    xs = xImage;
    if (anyContext) {
      ctxArr = new Float32Array(B * n);
      maskArr = new Float32Array(B * n);
      resolved.forEach((r, b) => {
        if (r.context) {
          ctxArr!.set(r.context.image, b * n);
          maskArr!.set(r.context.mask, b * n);
        }
      });
      xs = new Float32Array(B * n);
      const ctxTerm = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        let sq = 0;
        for (let k = b * n; k < (b + 1) * n; k++) {
          const m = maskArr[k];
          xs[k] = m * ctxArr[k] + (1 - m) * xImage[k];
          const d = (ctxArr[k] - xImage[k]) * m;
          sq += d * d;
        }
        ctxTerm[b] = -sq;
      }
      data.ctx = ctxTerm;
    }
    // runs an objective head reads are differentiated; E's code (the prior's R(h), a constant of the step) and
    // the displayed class probabilities are not
    const graded = new Set<Run>();
    for (const g of groupKeys.values()) {
      if (g.key === displayKey) continue;
      const r = runFor(g.net, g.preprocess);
      r.taps.add(g.tap);
      groupRun.set(g.key, r);
      graded.add(r);
    }
    const codeRun = o.needCode ? runFor('E', preprocessOf(pack, 'E'), false) : undefined;
    codeRun?.taps.add(pack.manifest.code.encoderTap);
    // the displayed class probabilities read the picture as it is when a pass of that net already does (E's code
    // pass), else share the condition nets' pass: no pass only for them
    if (displayKey) {
      const g = groupKeys.get(displayKey)!;
      const r =
        runs.get(runKey(g.net, g.preprocess, false)) ??
        runs.get(runKey(g.net, g.preprocess, true)) ??
        runFor(g.net, g.preprocess, false);
      r.taps.add(g.tap);
      groupRun.set(g.key, r);
    }
    const xsShifted = shifts ? rollImages(xs, pack.imageShape, shifts, 1) : xs;
    for (const r of runs.values())
      r.pass = await rt.forward(pack.nets[r.net], preprocessArray(r.shifted ? xsShifted : xs, pack, r.pre), B, {
        taps: [...r.taps],
        keep: o.needGrad && graded.has(r),
      });
    for (const g of groupKeys.values()) data[`tap:${g.key}`] = groupRun.get(g.key)!.pass!.taps[g.tap];
    if (codeRun) data.code = codeRun.pass!.taps[pack.manifest.code.encoderTap];
  }

  // ---- objective heads: values and incoming gradients (∂ per-chain total / ∂ tap), in float64
  for (const g of groupKeys.values()) {
    if (g.key === displayKey) continue;
    const run = o.fast ? runs.get('fast')! : groupRun.get(g.key)!;
    const t = data[`tap:${g.key}`];
    const size = t.length / B;
    const cotKey = o.fast ? '@output' : g.tap;
    let cot = run.cots.get(cotKey);
    if (!cot && o.needGrad) {
      cot = new Float32Array(t.length);
      run.cots.set(cotKey, cot);
    }
    const dist = g.transform === 'l2ref' ? new Float32Array(B) : undefined;
    resolved.forEach((r, b) => {
      const rg = r.groups.find((x) => x.key === g.key);
      if (!rg) return;
      const row = t.subarray(b * size, (b + 1) * size);
      const s = o.condScale[b];
      const { value, grad } = headTerm(g.transform, row, rg, o.needGrad);
      condValue[b] += value;
      if (cot && grad) for (let i = 0; i < size; i++) cot[b * size + i] += s * grad[i];
      // l2ref: the scores read the squared distance itself
      if (dist) dist[b] = sqDist(row, rg.target!);
    });
    if (dist) data[`tap:${g.key}`] = dist;
  }
  for (let b = 0; b < B; b++) {
    let v = o.condScale[b] * condValue[b];
    if (data.ctx) v += o.ctxScale[b] * data.ctx[b];
    if (o.gaussianPrior) {
      let sq = 0;
      for (let i = 0; i < D; i++) sq += hs[b][i] * hs[b][i];
      v -= 0.5 * sq;
    }
    total[b] = v;
  }
  data.cond = Float32Array.from(condValue);
  data.total = total;

  // ---- backward: VJPs through the condition nets, the context blend and G
  if (o.needGrad) {
    let grad: Float32Array;
    if (o.fast) {
      const run = runs.get('fast')!;
      grad = run.cots.size
        ? Float32Array.from(await rt.vjp(pack.fastMlp!, run.pass!, Object.fromEntries(run.cots)))
        : new Float32Array(B * D);
    } else {
      const gx = new Float32Array(B * n);
      let any = false;
      for (const r of runs.values()) {
        if (!r.cots.size) continue;
        const dRun = await rt.vjp(pack.nets[r.net], r.pass!, Object.fromEntries(r.cots));
        const dIn = r.shifted ? rollImages(dRun, pack.imageShape, shifts!, -1) : dRun;
        const scale = preprocessScale(pack, r.pre, C);
        for (let k = 0; k < gx.length; k++) gx[k] += dIn[k] * scale[k % C];
        any = true;
      }
      if (anyContext) {
        for (let b = 0; b < B; b++) {
          const w = o.ctxScale[b];
          for (let k = b * n; k < (b + 1) * n; k++) {
            const m = maskArr![k];
            // blend: xs = m·ctx + (1 − m)·x; context term −Σ(m·(ctx − x))² → +2m²(ctx − x)
            gx[k] = gx[k] * (1 - m) + w * 2 * m * m * (ctxArr![k] - xImage![k]);
          }
        }
        any = true;
      }
      grad = any ? Float32Array.from(await rt.vjp(pack.G, gPass!, { '@output': gx })) : new Float32Array(B * D);
    }
    if (o.gaussianPrior) for (let k = 0; k < grad.length; k++) grad[k] -= hAll[k];
    data.grad = grad;
  }
  if (o.needImage && xImage) data.image = xImage;

  const out: EvalOutput = { total: data.total, scores: [] };
  if (data.grad) out.grad = data.grad;
  if (data.code) out.code = data.code;
  if (data.image) out.image = data.image;
  for (let b = 0; b < B; b++) {
    const r = resolved[b];
    const scores: Record<string, number> = {};
    const rowOf = (key: string) => {
      const arr = data[`tap:${key}`];
      const size = arr.length / B;
      return arr.subarray(b * size, (b + 1) * size);
    };
    const softmaxRow = (row: Float32Array) => {
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      let s = 0;
      const p = Array.from(row, (v) => {
        const e = Math.exp(v - m);
        s += e;
        return e;
      });
      return p.map((v) => v / s);
    };
    const probCache = new Map<string, number[]>();
    const termScores: Record<string, string[]> = {};
    const own = (term: string | undefined, name: string) => {
      if (term === undefined) return;
      const names = (termScores[term] ??= []);
      if (!names.includes(name)) names.push(name);
    };
    for (const s of r.scores) {
      const key = o.fast ? [...groupKeys.keys()][0] : s.groupKey;
      if (!data[`tap:${key}`]) continue;
      const row = rowOf(key);
      let v: number;
      if (s.how === 'prob') {
        if (!probCache.has(key)) probCache.set(key, softmaxRow(row));
        v = probCache.get(key)![s.indices[0]];
      } else if (s.how === 'sigmoid') v = 1 / (1 + Math.exp(-row[s.indices[0]]));
      else if (s.how === 'dist') v = Math.sqrt(row[0]);
      else v = s.indices.reduce((a, i) => a + row[i], 0) / s.indices.length;
      scores[s.name] = v;
      own(s.term, s.name);
    }
    if (data.ctx) {
      scores['contextError'] = -data.ctx[b];
      own(r.context?.term, 'contextError');
    }
    let classProbs: number[] | undefined;
    if (displayKey) classProbs = softmaxRow(rowOf(displayKey));
    else if (o.fast && groupKeys.size) classProbs = softmaxRow(rowOf([...groupKeys.keys()][0]));
    let pTarget: number | null = null;
    if (r.target) {
      const key = o.fast ? [...groupKeys.keys()][0] : r.target.groupKey;
      const p = probCache.get(key) ?? (data[`tap:${key}`] ? softmaxRow(rowOf(key)) : undefined);
      pTarget = p ? p[r.target.index] : null;
    } else {
      const kw = Object.entries(scores).filter(([k]) => k.startsWith('kw('));
      if (kw.length) pTarget = kw.reduce((a, [, v]) => a + v, 0) / kw.length;
    }
    out.scores.push({ scores, termScores, pTarget, classProbs, objective: data.cond[b] });
  }
  return out;
}
