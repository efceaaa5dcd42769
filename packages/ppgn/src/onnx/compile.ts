/**
 * Compiles a pack network (`*.net.json` spec + weights) into ONNX graphs:
 *
 *  - a forward graph: input `x` → `output`, the requested taps `tap:<name>` and, when the caller will
 *    ask for a gradient, the activations the backward pass needs (`s<i>`);
 *  - a vector-Jacobian-product (VJP) graph: those activations plus incoming gradients `g:<tap>` (and
 *    `g:@output`) → `dx`, the gradient of Σ ⟨g, tap⟩ with respect to the input. The backward pass is
 *    written out with ordinary forward ops (../shared/docs/VJP.md): ONNX has no autograd.
 *
 * Inputs, outputs, taps and incoming gradients use the pack's layout (NHWC, as in tfjs); inside the graph
 * spatial tensors are NCHW, the layout ONNX Runtime's CPU kernels are fast in. Padding goes into the
 * Conv/Pool nodes' `pads` (ONNX Runtime does not fold a separate Pad node into a Conv).
 */
import { GraphBuilder, type Dim } from './graph';
import { planLayers, type LayerPlan, type NetSpec } from '../net';

export class NetCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetCompileError';
  }
}

export interface CompileSource {
  spec: NetSpec;
  /** `<layer key>/<var>` → values (tfjs layouts) */
  weights: Record<string, Float32Array>;
  name?: string;
}

/**
 * Which saved activations a layer's backward pass reads: its output ('y'), its input ('x'), or where its
 * output is positive ('m', a bool mask: a quarter of the bytes to hand back and forth).
 */
type Saved = 'x' | 'y' | 'm';
function savedOf(p: LayerPlan): Saved[] {
  switch (p.spec.type) {
    case 'tanh':
    case 'sigmoid':
      return ['y'];
    case 'relu':
      return ['m'];
    case 'leakyRelu':
      // for α ≥ 0, y > 0 exactly where x > 0
      return p.spec.alpha >= 0 ? ['m'] : ['x'];
    case 'maxPool':
      return ['x', 'y'];
    default:
      return [];
  }
}

const nchw = (s: number[]): Dim[] => (s.length === 3 ? ['B', s[2], s[0], s[1]] : ['B', ...s]);
const nhwc = (s: number[]): Dim[] => ['B', ...s];

/** TF "same"/"valid" padding of one spatial dimension: [before, after] */
function tfPads(n: number, k: number, s: number, padding: 'same' | 'valid'): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** [kh, kw, a, b] (tfjs) → [b, a, kh, kw] (ONNX Conv weight [out, in, kh, kw]; ConvTranspose [in, out, kh, kw]) */
function toOihw(w: Float32Array, kh: number, kw: number, a: number, b: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < a; i++)
        for (let o = 0; o < b; o++) out[((o * a + i) * kh + y) * kw + x] = w[((y * kw + x) * a + i) * b + o];
  return out;
}

/** [out, in, kh, kw] → rotated 180° with in/out swapped: [in, out, kh, kw] */
function flipSwap(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          out[((b * o + a) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)] = w[((a * i + b) * kh + y) * kw + x];
  return out;
}

function transpose2(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

function weightOf(src: CompileSource, key: string, v: string, n: number): Float32Array {
  const w = src.weights[`${key}/${v}`];
  if (!w) throw new NetCompileError(`${src.name ?? 'net'}: missing weight "${key}/${v}"`);
  if (w.length !== n)
    throw new NetCompileError(`${src.name ?? 'net'}: weight "${key}/${v}" has ${w.length} values, expected ${n}`);
  return w;
}

/** per-channel scale and shift of a batchnorm / affine layer */
function channelAffine(src: CompileSource, p: LayerPlan): { scale: Float32Array; shift: Float32Array } {
  const C = p.inShape[p.inShape.length - 1];
  if (p.spec.type === 'affine')
    return { scale: weightOf(src, p.key, 'scale', C), shift: weightOf(src, p.key, 'shift', C) };
  if (p.spec.type !== 'batchnorm') throw new Error('not an affine layer');
  const eps = p.spec.epsilon;
  const g = weightOf(src, p.key, 'gamma', C);
  const b = weightOf(src, p.key, 'beta', C);
  const m = weightOf(src, p.key, 'mean', C);
  const v = weightOf(src, p.key, 'variance', C);
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    // same float32 arithmetic order as the tfjs layer: (x − mean)·(γ·rsqrt(var + ε)) + β
    scale[c] = Math.fround(g[c] * Math.fround(1 / Math.sqrt(Math.fround(v[c] + eps))));
    shift[c] = Math.fround(b[c] - Math.fround(m[c] * scale[c]));
  }
  return { scale, shift };
}

/** a channel vector shaped to broadcast over [B, C, H, W] or [B, C] */
function channelConst(g: GraphBuilder, v: Float32Array, spatial: boolean): string {
  return g.weight(v, spatial ? [v.length, 1, 1] : [v.length], 'ch');
}

/** NHWC ⇄ NCHW helpers for values of a given (NHWC) shape */
function toInternal(g: GraphBuilder, v: string, shape: number[]): string {
  return shape.length === 3 ? g.transpose(v, [0, 3, 1, 2]) : v;
}
function toExternal(g: GraphBuilder, v: string, shape: number[]): string {
  return shape.length === 3 ? g.transpose(v, [0, 2, 3, 1]) : v;
}

/** reshape between two NHWC shapes (values inside are NCHW for rank-3 shapes) */
function reshapeBetween(g: GraphBuilder, v: string, from: number[], to: number[]): string {
  let t = from.length === 3 ? g.transpose(v, [0, 2, 3, 1]) : v;
  t = g.reshape(t, [0, ...to]);
  return to.length === 3 ? g.transpose(t, [0, 3, 1, 2]) : t;
}

function poolAttrs(p: LayerPlan & { spec: { size: number; stride?: number; padding: 'same' | 'valid' } }) {
  const k = p.spec.size;
  const s = p.spec.stride ?? k;
  const [t, b] = tfPads(p.inShape[0], k, s, p.spec.padding);
  const [l, r] = tfPads(p.inShape[1], k, s, p.spec.padding);
  return { k, s, pads: [t, l, b, r] };
}

/** a conv2d layer's kernel in ONNX layout [out, in, k, k] and its TF-rule pads [top, left, bottom, right] */
function convLayer(src: CompileSource, p: LayerPlan): { k: number; cin: number; w: Float32Array; pads: number[] } {
  if (p.spec.type !== 'conv2d') throw new Error('not a conv2d layer');
  const { kernel: k, filters, stride, padding } = p.spec;
  const cin = p.inShape[2];
  const w = toOihw(weightOf(src, p.key, 'kernel', k * k * cin * filters), k, k, cin, filters);
  const [t, b] = tfPads(p.inShape[0], k, stride, padding);
  const [l, r] = tfPads(p.inShape[1], k, stride, padding);
  return { k, cin, w, pads: [t, l, b, r] };
}

function emitForward(g: GraphBuilder, src: CompileSource, p: LayerPlan, x: string): string {
  const sp = p.spec;
  const spatialIn = p.inShape.length === 3;
  switch (sp.type) {
    case 'dense': {
      const [inN] = p.inShape;
      const W = g.weight(weightOf(src, p.key, 'kernel', inN * sp.units), [inN, sp.units]);
      if (!sp.bias) return g.op('MatMul', [x, W]);
      return g.op('Gemm', [x, W, g.weight(weightOf(src, p.key, 'bias', sp.units), [sp.units])]);
    }
    case 'conv2d': {
      const { k, cin, w, pads } = convLayer(src, p);
      const ins = [x, g.weight(w, [sp.filters, cin, k, k])];
      if (sp.bias) ins.push(g.weight(weightOf(src, p.key, 'bias', sp.filters), [sp.filters]));
      return g.op('Conv', ins, { kernel_shape: [k, k], strides: [sp.stride, sp.stride], pads, dilations: [1, 1] });
    }
    case 'conv2dTranspose': {
      const k = sp.kernel;
      const s = sp.stride;
      const cin = p.inShape[2];
      const w = toOihw(weightOf(src, p.key, 'kernel', k * k * sp.filters * cin), k, k, sp.filters, cin);
      const { pads, outputPadding } = convTransposeGeometry(p);
      const ins = [x, g.weight(w, [cin, sp.filters, k, k])];
      if (sp.bias) ins.push(g.weight(weightOf(src, p.key, 'bias', sp.filters), [sp.filters]));
      return g.op('ConvTranspose', ins, { kernel_shape: [k, k], strides: [s, s], pads, output_padding: outputPadding });
    }
    case 'upsample': {
      const f = sp.factor;
      if (f === 1) return x;
      // Resize (nearest, integer scale) keeps ONNX Runtime's blocked conv layout; Reshape+Expand broke it
      return g.op('Resize', [x, '', g.floats([1, 1, f, f])], {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      });
    }
    case 'relu':
      return g.op('Relu', [x]);
    case 'leakyRelu':
      return g.op('LeakyRelu', [x], { alpha: { float: sp.alpha } });
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    case 'batchnorm':
    case 'affine': {
      const { scale, shift } = channelAffine(src, p);
      return g.add(g.mul(x, channelConst(g, scale, spatialIn)), channelConst(g, shift, spatialIn));
    }
    case 'reshape':
    case 'flatten':
      return reshapeBetween(g, x, p.inShape, p.outShape);
    case 'avgPool': {
      const { k, s, pads } = poolAttrs(p as never);
      return g.op('AveragePool', [x], { kernel_shape: [k, k], strides: [s, s], pads, count_include_pad: 0 });
    }
    case 'maxPool': {
      const { k, s, pads } = poolAttrs(p as never);
      return g.op('MaxPool', [x], { kernel_shape: [k, k], strides: [s, s], pads });
    }
    case 'globalAvgPool':
      return g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 });
    case 'dropout':
      return x;
  }
}

/** TF "same" conv2dTranspose: the adjoint of a "same" conv2d from the s·n grid to n */
function convTransposeGeometry(p: LayerPlan): { pads: number[]; outputPadding: number[] } {
  if (p.spec.type !== 'conv2dTranspose') throw new Error('not conv2dTranspose');
  const k = p.spec.kernel;
  const s = p.spec.stride;
  const dims = [0, 1].map((d) => {
    const n = p.inShape[d];
    const [a, b] = tfPads(n * s, k, s, 'same');
    const op = n * s - ((n - 1) * s + k - a - b);
    return { a, b, op };
  });
  return { pads: [dims[0].a, dims[1].a, dims[0].b, dims[1].b], outputPadding: [dims[0].op, dims[1].op] };
}

/**
 * Emit the VJP of one layer: `gy` (gradient at its output, internal layout) → gradient at its input.
 * `saved(i, 'x' | 'y')` gives the saved activations.
 */
function emitBackward(
  g: GraphBuilder,
  src: CompileSource,
  p: LayerPlan,
  gy: string,
  saved: (w: Saved) => string,
): string {
  const sp = p.spec;
  const spatialIn = p.inShape.length === 3;
  switch (sp.type) {
    case 'dense': {
      const [inN] = p.inShape;
      const wt = transpose2(weightOf(src, p.key, 'kernel', inN * sp.units), inN, sp.units);
      return g.op('MatMul', [gy, g.weight(wt, [sp.units, inN])]);
    }
    case 'conv2d': {
      const { k, cin, w, pads: convPads } = convLayer(src, p);
      const [t, l, b, r] = convPads;
      const [Ho, Wo] = p.outShape;
      const [H, W] = p.inShape;
      if (sp.stride === 1) {
        // a stride-1 conv's input gradient is a conv of gy with the rotated, channel-swapped kernel and mirrored pads
        const wf = flipSwap(w, sp.filters, cin, k, k);
        const pt = k - 1 - t;
        const pl = k - 1 - l;
        const pads = [pt, pl, H - Ho + k - 1 - pt, W - Wo + k - 1 - pl];
        return g.op('Conv', [gy, g.weight(wf, [cin, sp.filters, k, k])], {
          kernel_shape: [k, k],
          strides: [1, 1],
          pads,
          dilations: [1, 1],
        });
      }
      const s = sp.stride;
      const outputPadding = [H - ((Ho - 1) * s + k - t - b), W - ((Wo - 1) * s + k - l - r)];
      if (outputPadding.some((o) => o < 0 || o >= s))
        throw new NetCompileError(
          `${src.name ?? 'net'} layer ${p.key}: unsupported conv geometry for the input gradient`,
        );
      return g.op('ConvTranspose', [gy, g.weight(w, [sp.filters, cin, k, k])], {
        kernel_shape: [k, k],
        strides: [s, s],
        pads: [t, l, b, r],
        output_padding: outputPadding,
      });
    }
    case 'conv2dTranspose': {
      const k = sp.kernel;
      const s = sp.stride;
      const cin = p.inShape[2];
      const w = toOihw(weightOf(src, p.key, 'kernel', k * k * sp.filters * cin), k, k, sp.filters, cin);
      const { pads } = convTransposeGeometry(p);
      return g.op('Conv', [gy, g.weight(w, [cin, sp.filters, k, k])], {
        kernel_shape: [k, k],
        strides: [s, s],
        pads,
        dilations: [1, 1],
      });
    }
    case 'upsample': {
      const f = sp.factor;
      if (f === 1) return gy;
      // nearest ×f: every input pixel fed f×f outputs → f×f sum pooling
      const avg = g.op('AveragePool', [gy], { kernel_shape: [f, f], strides: [f, f] });
      return g.mul(avg, g.scalar(f * f));
    }
    case 'relu':
      return g.op('Where', [saved('m'), gy, g.scalar(0)]);
    case 'leakyRelu': {
      const pos = sp.alpha >= 0 ? saved('m') : g.op('Greater', [saved('x'), g.scalar(0)]);
      return g.op('Where', [pos, gy, g.mul(gy, g.scalar(sp.alpha))]);
    }
    case 'tanh': {
      const y = saved('y');
      return g.mul(gy, g.op('Sub', [g.scalar(1), g.mul(y, y)]));
    }
    case 'sigmoid': {
      const y = saved('y');
      return g.mul(gy, g.mul(y, g.op('Sub', [g.scalar(1), y])));
    }
    case 'batchnorm':
    case 'affine':
      return g.mul(gy, channelConst(g, channelAffine(src, p).scale, spatialIn));
    case 'reshape':
    case 'flatten':
      return reshapeBetween(g, gy, p.outShape, p.inShape);
    case 'avgPool': {
      const { k, s, pads } = poolAttrs(p as never);
      const [H, W, C] = p.inShape;
      const [Ho, Wo] = p.outShape;
      // each output averaged `count` input pixels (padding excluded): spread gy/count back over its window
      const count = new Float32Array(Ho * Wo);
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const y0 = oy * s - pads[0];
          const x0 = ox * s - pads[1];
          const ny = Math.min(y0 + k, H) - Math.max(y0, 0);
          const nx = Math.min(x0 + k, W) - Math.max(x0, 0);
          count[oy * Wo + ox] = 1 / (ny * nx);
        }
      const scaled = g.mul(gy, g.weight(count, [1, 1, Ho, Wo], 'cnt'));
      const ones = g.weight(new Float32Array(C * k * k).fill(1), [C, 1, k, k], 'ones');
      const outputPadding = [H - ((Ho - 1) * s + k - pads[0] - pads[2]), W - ((Wo - 1) * s + k - pads[1] - pads[3])];
      if (outputPadding.some((o) => o < 0 || o >= s))
        throw new NetCompileError(
          `${src.name ?? 'net'} layer ${p.key}: avgPool of size ${k}, stride ${s} on ${H}×${W} has no input gradient here`,
        );
      return g.op('ConvTranspose', [scaled, ones], {
        kernel_shape: [k, k],
        strides: [s, s],
        pads,
        output_padding: outputPadding,
        group: C,
      });
    }
    case 'maxPool': {
      const { k, s, pads } = poolAttrs(p as never);
      if (s !== k)
        throw new NetCompileError(
          `${src.name ?? 'net'} layer ${p.key}: maxPool with overlapping windows (size ${k}, stride ${s}) has no ONNX input gradient yet; use PPGN_BACKEND=wasm`,
        );
      const [H, W, C] = p.inShape;
      const [Ho, Wo] = p.outShape;
      // route gy to the positions that equal their window's maximum; the windows cover rows/cols
      // [−pad, −pad + Ho·k) of the input: crop that grid to the input, zero rows/cols no window covers
      const [ph, pw] = [pads[0] + H - Ho * k, pads[1] + W - Wo * k].map((d) => Math.max(d, 0));
      const up = (v: string) => {
        const r = g.reshape(v, [0, C, Ho, 1, Wo, 1]);
        const e = g.reshape(g.op('Expand', [r, g.ints([1, 1, 1, k, 1, k])]), [0, C, Ho * k, Wo * k]);
        const cropped = g.op('Slice', [
          e,
          g.ints([pads[0], pads[1]]),
          g.ints([Math.min(pads[0] + H, Ho * k), Math.min(pads[1] + W, Wo * k)]),
          g.ints([2, 3]),
        ]);
        return ph || pw ? g.op('Pad', [cropped, g.ints([0, 0, 0, 0, 0, 0, ph, pw])], { mode: 'constant' }) : cropped;
      };
      const mask = g.op('Equal', [saved('x'), up(saved('y'))]);
      return g.op('Where', [mask, up(gy), g.scalar(0)]);
    }
    case 'globalAvgPool': {
      const [H, W] = p.inShape;
      const u = g.op('Unsqueeze', [gy, g.ints([2, 3])]);
      const e = g.op('Expand', [u, g.ints([1, 1, H, W])]);
      return g.mul(e, g.scalar(1 / (H * W)));
    }
    case 'dropout':
      return gy;
  }
}

export interface CompiledGraph {
  bytes: Uint8Array;
  /** graph input names, in order */
  inputs: string[];
  outputs: string[];
}

/** saved-activation value name of layer i (its output 'y', or its input 'x' = the source's output) */
export function savedName(plans: LayerPlan[], i: number, which: Saved): string {
  if (which === 'm') return `m${i}`;
  const idx = which === 'y' ? i : plans[i].source;
  return idx < 0 ? 'x' : `s${idx}`;
}

function netName(src: CompileSource): string {
  return src.name ?? src.spec.name ?? 'net';
}

/**
 * The forward graph. `taps` are exposed as `tap:<name>` (NHWC); `output` is always exposed; with `keep`
 * the activations listed by `backwardNeeds` are exposed as `s<i>` (internal layout).
 */
export function compileForward(src: CompileSource, taps: string[], keep: boolean): CompiledGraph {
  const plans = planLayers(src.spec);
  const g = new GraphBuilder(`${netName(src)}_forward`);
  const inShape = [...src.spec.input];
  const x = g.input('x', nhwc(inShape));
  const vals: string[] = [];
  const cur = toInternal(g, x, inShape);
  plans.forEach((p, i) => {
    const input = p.source < 0 ? cur : vals[p.source];
    vals[i] = emitForward(g, src, p, input);
  });
  const outputs: string[] = [];
  const last = plans.length - 1;
  g.output(toExternal(g, vals[last], plans[last].outShape), 'output', nhwc(plans[last].outShape));
  outputs.push('output');
  for (const t of taps) {
    const i = plans.findIndex((p) => p.spec.name === t);
    if (i < 0) throw new NetCompileError(`${netName(src)} has no layer "${t}"`);
    g.output(toExternal(g, vals[i], plans[i].outShape), `tap:${t}`, nhwc(plans[i].outShape));
    outputs.push(`tap:${t}`);
  }
  if (keep) {
    const names = new Set<string>();
    plans.forEach((p, i) => {
      for (const w of savedOf(p)) {
        const n = savedName(plans, i, w);
        if (n !== 'x') names.add(n);
      }
    });
    for (const n of names) {
      const i = Number(n.slice(1));
      if (n.startsWith('m')) g.output(g.op('Greater', [vals[i], g.scalar(0)]), n, nchw(plans[i].outShape), 'bool');
      else g.output(vals[i], n, nchw(plans[i].outShape));
      outputs.push(n);
    }
  }
  return { bytes: g.toBytes(), inputs: ['x'], outputs };
}

/**
 * The VJP graph for incoming gradients at `cotangents` (tap names, or '@output' for the net's output):
 * inputs `g:<name>` (NHWC) and the saved activations it reads; output `dx` (NHWC, the input's shape).
 * Returns null when no gradient can reach the input (it is then zero).
 */
export function compileVjp(src: CompileSource, cotangents: string[]): CompiledGraph | null {
  const plans = planLayers(src.spec);
  const g = new GraphBuilder(`${netName(src)}_vjp`);
  const inputs: string[] = [];
  const contrib: string[][] = plans.map(() => []);
  const last = plans.length - 1;
  for (const c of cotangents) {
    const i = c === '@output' ? last : plans.findIndex((p) => p.spec.name === c);
    if (i < 0) throw new NetCompileError(`${netName(src)} has no layer "${c}"`);
    const v = g.input(`g:${c}`, nhwc(plans[i].outShape));
    inputs.push(`g:${c}`);
    contrib[i].push(toInternal(g, v, plans[i].outShape));
  }
  const savedInputs = new Map<string, string>();
  const inShape = [...src.spec.input];
  const saved = (i: number) => (w: Saved) => {
    const n = savedName(plans, i, w);
    let v = savedInputs.get(n);
    if (!v) {
      const shape = n === 'x' ? inShape : plans[Number(n.slice(1))].outShape;
      const raw = g.input(n, n === 'x' ? nhwc(shape) : nchw(shape), n.startsWith('m') ? 'bool' : 'float');
      inputs.push(n);
      v = n === 'x' ? toInternal(g, raw, shape) : raw;
      savedInputs.set(n, v);
    }
    return v;
  };
  const sum = (vs: string[]) => vs.reduce((a, b) => g.add(a, b));
  const toInput: string[] = [];
  for (let i = last; i >= 0; i--) {
    if (contrib[i].length === 0) continue;
    const gy = sum(contrib[i]);
    const gx = emitBackward(g, src, plans[i], gy, saved(i));
    if (plans[i].source < 0) toInput.push(gx);
    else contrib[plans[i].source].push(gx);
  }
  if (toInput.length === 0) return null;
  g.output(toExternal(g, sum(toInput), inShape), 'dx', nhwc(inShape));
  return { bytes: g.toBytes(), inputs, outputs: ['dx'] };
}
