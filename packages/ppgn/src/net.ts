/**
 * A tiny declarative network format ("tfjs model" of this project) and the `Net` class that runs it.
 *
 * A spec is JSON: `{ name?, input: [..shape without batch], layers: [...] }`. Layers run in order; a
 * layer may read from an earlier named layer with `from` (this gives simple branches such as a class
 * head and a keyword head on the same hidden layer). Every named layer is a "tap": its activation can
 * be requested from `apply(x, { taps })`.
 */
import { z } from 'zod';
import { tf } from './tf';
import { Rng } from './rng';
import { conv2dFast, flipKernel, upsampleNearest } from './ops';

const name = z.string().min(1).optional();
const from = z.string().min(1).optional();
const base = { name, from };
const padding = z.enum(['same', 'valid']).default('same');
const pos = z.number().int().positive();

export const layerSpecSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('dense'), units: pos, bias: z.boolean().default(true) }),
  z.object({
    ...base,
    type: z.literal('conv2d'),
    filters: pos,
    kernel: pos,
    stride: pos.default(1),
    padding,
    bias: z.boolean().default(true),
  }),
  z.object({
    ...base,
    type: z.literal('conv2dTranspose'),
    filters: pos,
    kernel: pos,
    stride: pos.default(2),
    bias: z.boolean().default(true),
  }),
  z.object({ ...base, type: z.literal('upsample'), factor: pos.default(2) }),
  z.object({ ...base, type: z.literal('relu') }),
  z.object({ ...base, type: z.literal('leakyRelu'), alpha: z.number().default(0.2) }),
  z.object({ ...base, type: z.literal('tanh') }),
  z.object({ ...base, type: z.literal('sigmoid') }),
  z.object({ ...base, type: z.literal('batchnorm'), epsilon: z.number().positive().default(1e-3) }),
  z.object({ ...base, type: z.literal('affine') }),
  z.object({ ...base, type: z.literal('reshape'), shape: z.array(pos).min(1) }),
  z.object({ ...base, type: z.literal('flatten') }),
  z.object({ ...base, type: z.literal('avgPool'), size: pos.default(2), stride: pos.optional(), padding }),
  z.object({ ...base, type: z.literal('maxPool'), size: pos.default(2), stride: pos.optional(), padding }),
  z.object({ ...base, type: z.literal('globalAvgPool') }),
  z.object({ ...base, type: z.literal('dropout'), rate: z.number().min(0).max(1).default(0.5) }),
]);

export const netSpecSchema = z.object({
  name: z.string().optional(),
  input: z.array(pos).min(1).max(3),
  layers: z.array(layerSpecSchema).min(1),
});

export type LayerSpec = z.input<typeof layerSpecSchema>;
export type NetSpec = z.input<typeof netSpecSchema>;
type ParsedLayer = z.output<typeof layerSpecSchema>;
type ParsedSpec = z.output<typeof netSpecSchema>;

export interface WeightEntry {
  name: string;
  shape: number[];
  /** byte offset in the .bin file */
  offset: number;
}

/** On-disk description of one network: `<name>.net.json` next to `<name>.weights.bin`. */
export interface NetFile {
  format: 'ppgn-net/1';
  spec: NetSpec;
  weightsFile: string;
  weights: WeightEntry[];
}

export interface ApplyOptions {
  taps?: string[];
  /** stop early once all requested taps (and not the output) are computed */
  tapsOnly?: boolean;
  /**
   * training: conv layers also produce filter gradients. Default false (sampling): conv weights are
   * treated as constants, only input gradients are computed (faster, and works on wasm).
   */
  train?: boolean;
}

export interface ApplyResult {
  output: tf.Tensor;
  taps: Record<string, tf.Tensor>;
}

export interface InitOptions {
  seed?: number;
  /** multiplies He-normal init std (default 1) */
  gain?: number;
  /** hand-set weights by variable name (`<layer>/kernel`, …) */
  weights?: Record<string, Float32Array | number[]>;
}

interface BuiltLayer {
  spec: ParsedLayer;
  key: string;
  inShape: number[];
  outShape: number[];
  vars: Record<string, tf.Variable>;
  /** cached rot180ᵀ kernel for conv input gradients (sampling), keyed by the kernel's dataId */
  flip?: { dataId: object; t: tf.Tensor4D };
}

export class NetSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'NetSpecError';
  }
}

function prod(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

function outSize(n: number, k: number, s: number, pad: 'same' | 'valid'): number {
  return pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

let netCounter = 0;

export class Net {
  readonly spec: ParsedSpec;
  readonly rawSpec: NetSpec;
  readonly inputShape: number[];
  readonly outputShape: number[];
  private readonly layers: BuiltLayer[] = [];
  private readonly tapShapes = new Map<string, number[]>();
  private readonly id = ++netCounter;
  private disposed = false;

  constructor(spec: NetSpec, init: InitOptions = {}) {
    const parsed = netSpecSchema.safeParse(spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new NetSpecError(issue.path.join('.') || 'spec', issue.message);
    }
    this.spec = parsed.data;
    this.rawSpec = spec;
    this.inputShape = [...this.spec.input];
    const rng = new Rng(init.seed ?? 1);
    const gain = init.gain ?? 1;
    const shapes = new Map<string, number[]>();
    shapes.set('input', this.inputShape);
    let cur = this.inputShape;
    this.spec.layers.forEach((l, i) => {
      const key = l.name ?? `${l.type}_${i}`;
      if (l.name && shapes.has(l.name)) throw new NetSpecError(`layers.${i}.name`, `duplicate layer name "${l.name}"`);
      let inShape = cur;
      if (l.from) {
        const s = shapes.get(l.from);
        if (!s) throw new NetSpecError(`layers.${i}.from`, `unknown layer "${l.from}"`);
        inShape = s;
      }
      const { outShape, varShapes } = inferLayer(l, inShape, `layers.${i}`);
      const vars: Record<string, tf.Variable> = {};
      for (const [vn, { shape, init: kind, fanIn }] of Object.entries(varShapes)) {
        const full = `${key}/${vn}`;
        const n = prod(shape);
        let data: Float32Array;
        const given = init.weights?.[full];
        if (given) {
          if (given.length !== n)
            throw new NetSpecError(`weights.${full}`, `expected ${n} values, got ${given.length}`);
          data = Float32Array.from(given);
        } else if (kind === 'he') {
          data = rng.normals(new Float32Array(n), gain * Math.sqrt(2 / fanIn));
        } else {
          data = new Float32Array(n).fill(kind === 'one' ? 1 : 0);
        }
        const init0 = tf.tensor(data, shape);
        vars[vn] = tf.variable(init0, true, `net${this.id}/${full}`);
        init0.dispose();
      }
      // the flipped kernel for conv input gradients is made (and cached) when a first gradient needs it
      const built: BuiltLayer = { spec: l, key, inShape, outShape, vars };
      this.layers.push(built);
      if (l.name) {
        shapes.set(l.name, outShape);
        this.tapShapes.set(l.name, outShape);
      }
      cur = outShape;
    });
    this.outputShape = cur;
  }

  /** names of all taps (named layers) */
  get tapNames(): string[] {
    return [...this.tapShapes.keys()];
  }

  /** activation shape of a tap without batch dimension */
  tapShape(tap: string): number[] | undefined {
    return this.tapShapes.get(tap);
  }

  /** all variables, ordered, keyed `<layer>/<var>` (for optimizers / serialisation) */
  get variables(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    for (const l of this.layers) for (const [vn, v] of Object.entries(l.vars)) out[`${l.key}/${vn}`] = v;
    return out;
  }

  get trainableVariables(): tf.Variable[] {
    return Object.values(this.variables);
  }

  get paramCount(): number {
    return Object.values(this.variables).reduce((a, v) => a + v.size, 0);
  }

  /** Run on a batch `x` of shape [B, ...input]. Not tidied: call inside tf.tidy / a gradient function. */
  apply(x: tf.Tensor, opts: ApplyOptions = {}): ApplyResult {
    if (this.disposed) throw new Error('Net has been disposed');
    const want = new Set(opts.taps ?? []);
    for (const t of want)
      if (!this.tapShapes.has(t)) throw new Error(`unknown tap "${t}" (known: ${this.tapNames.join(', ')})`);
    const outputs = new Map<string, tf.Tensor>();
    const taps: Record<string, tf.Tensor> = {};
    const expected = [x.shape[0], ...this.inputShape];
    if (x.shape.length !== expected.length || x.shape.slice(1).some((d, i) => d !== this.inputShape[i])) {
      throw new Error(`input shape [${x.shape}] does not match [batch, ${this.inputShape}]`);
    }
    outputs.set('input', x);
    let cur = x;
    let remaining = want.size;
    for (const l of this.layers) {
      const inp = l.spec.from ? outputs.get(l.spec.from)! : cur;
      cur = runLayer(l, inp, !!opts.train);
      if (l.spec.name) {
        outputs.set(l.spec.name, cur);
        if (want.has(l.spec.name)) {
          taps[l.spec.name] = cur;
          remaining--;
        }
      }
      if (opts.tapsOnly && remaining === 0 && want.size > 0) break;
    }
    return { output: cur, taps };
  }

  /** convenience: tidied forward pass returning only the output */
  predict(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.apply(x).output);
  }

  /** Serialise: spec + weight manifest + float32 little-endian buffer. */
  serialize(weightsFile = 'weights.bin'): { file: NetFile; weights: Uint8Array } {
    const entries: WeightEntry[] = [];
    const vars = this.variables;
    let total = 0;
    for (const v of Object.values(vars)) total += v.size * 4;
    const buf = new Uint8Array(total);
    const dv = new DataView(buf.buffer);
    let off = 0;
    for (const [n, v] of Object.entries(vars)) {
      const data = v.dataSync() as Float32Array;
      entries.push({ name: n, shape: [...v.shape], offset: off });
      for (let i = 0; i < data.length; i++) dv.setFloat32(off + i * 4, data[i], true);
      off += data.length * 4;
    }
    return { file: { format: 'ppgn-net/1', spec: this.rawSpec, weightsFile, weights: entries }, weights: buf };
  }

  /**
   * Build from a serialised net. Throws NetSpecError with a field path when a weight is missing, has a
   * wrong shape, or lies outside the buffer.
   */
  static deserialize(file: NetFile, weights: Uint8Array): Net {
    const dv = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
    const byName = new Map(file.weights.map((w, i) => [w.name, { w, i }]));
    const values: Record<string, Float32Array> = {};
    for (const p of planLayers(file.spec)) {
      for (const [v, shape] of Object.entries(p.vars)) {
        const vn = `${p.key}/${v}`;
        const e = byName.get(vn);
        if (!e) throw new NetSpecError(`weights`, `missing tensor "${vn}" (shape [${shape}])`);
        const { w, i } = e;
        if (w.shape.length !== shape.length || w.shape.some((d, k) => d !== shape[k]))
          throw new NetSpecError(
            `weights[${i}].shape`,
            `tensor "${vn}" has shape [${w.shape}] but the spec needs [${shape}]`,
          );
        const n = prod(shape);
        if (w.offset < 0 || w.offset % 4 !== 0 || w.offset + n * 4 > weights.byteLength)
          throw new NetSpecError(
            `weights[${i}].offset`,
            `tensor "${vn}" at byte ${w.offset} (+${n * 4}) lies outside the ${weights.byteLength}-byte weights file`,
          );
        const a = new Float32Array(n);
        for (let k = 0; k < n; k++) a[k] = dv.getFloat32(w.offset + k * 4, true);
        values[vn] = a;
      }
    }
    return new Net(file.spec, { weights: values });
  }

  /** copy of all weights (name → Float32Array) */
  getWeights(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(this.variables)) out[n] = v.dataSync() as Float32Array;
    return out;
  }

  setWeights(values: Record<string, Float32Array | number[]>): void {
    const vars = this.variables;
    for (const [n, val] of Object.entries(values)) {
      const v = vars[n];
      if (!v) throw new Error(`unknown variable "${n}"`);
      if (val.length !== v.size) throw new Error(`variable "${n}" needs ${v.size} values, got ${val.length}`);
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(val), v.shape)));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of Object.values(this.variables)) v.dispose();
    for (const l of this.layers) l.flip?.t.dispose();
  }
}

/** One layer of a parsed spec as a compiler sees it: its variable prefix, where it reads from and its shapes. */
export interface LayerPlan {
  spec: ParsedLayer;
  /** variable prefix (`<key>/kernel`, …): the layer's name, else `<type>_<index>` */
  key: string;
  /** index of the layer it reads (-1 = the net's input) */
  source: number;
  inShape: number[];
  outShape: number[];
  /** variable name (without the key) → shape */
  vars: Record<string, number[]>;
}

/** The layers of a spec with their shapes and sources (validated like `new Net(spec)`). */
export function planLayers(spec: NetSpec): LayerPlan[] {
  const parsed = netSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NetSpecError(issue.path.join('.') || 'spec', issue.message);
  }
  const byName = new Map<string, number>();
  const plans: LayerPlan[] = [];
  let cur = -1;
  let curShape = [...parsed.data.input];
  parsed.data.layers.forEach((l, i) => {
    let source = cur;
    let inShape = curShape;
    if (l.from === 'input') {
      source = -1;
      inShape = [...parsed.data.input];
    } else if (l.from) {
      const j = byName.get(l.from);
      if (j === undefined) throw new NetSpecError(`layers.${i}.from`, `unknown layer "${l.from}"`);
      source = j;
      inShape = plans[j].outShape;
    }
    const { outShape, varShapes } = inferLayer(l, inShape, `layers.${i}`);
    const vars = Object.fromEntries(Object.entries(varShapes).map(([k, v]) => [k, v.shape]));
    plans.push({ spec: l, key: l.name ?? `${l.type}_${i}`, source, inShape, outShape, vars });
    if (l.name) byName.set(l.name, i);
    cur = i;
    curShape = outShape;
  });
  return plans;
}

type VarInit = { shape: number[]; init: 'he' | 'zero' | 'one'; fanIn: number };

function inferLayer(
  l: ParsedLayer,
  s: number[],
  field: string,
): { outShape: number[]; varShapes: Record<string, VarInit> } {
  const need = (rank: number) => {
    if (s.length !== rank)
      throw new NetSpecError(field, `${l.type} needs a rank-${rank} input (without batch), got [${s}]`);
  };
  const ch = s[s.length - 1];
  switch (l.type) {
    case 'dense':
      need(1);
      return {
        outShape: [l.units],
        varShapes: {
          kernel: { shape: [s[0], l.units], init: 'he', fanIn: s[0] },
          ...(l.bias ? { bias: { shape: [l.units], init: 'zero' as const, fanIn: 1 } } : {}),
        },
      };
    case 'conv2d':
      need(3);
      return {
        outShape: [
          outSize(s[0], l.kernel, l.stride, l.padding),
          outSize(s[1], l.kernel, l.stride, l.padding),
          l.filters,
        ],
        varShapes: {
          kernel: { shape: [l.kernel, l.kernel, ch, l.filters], init: 'he', fanIn: l.kernel * l.kernel * ch },
          ...(l.bias ? { bias: { shape: [l.filters], init: 'zero' as const, fanIn: 1 } } : {}),
        },
      };
    case 'conv2dTranspose':
      need(3);
      return {
        outShape: [s[0] * l.stride, s[1] * l.stride, l.filters],
        varShapes: {
          kernel: {
            shape: [l.kernel, l.kernel, l.filters, ch],
            init: 'he',
            fanIn: (l.kernel * l.kernel * ch) / (l.stride * l.stride),
          },
          ...(l.bias ? { bias: { shape: [l.filters], init: 'zero' as const, fanIn: 1 } } : {}),
        },
      };
    case 'upsample':
      need(3);
      return { outShape: [s[0] * l.factor, s[1] * l.factor, ch], varShapes: {} };
    case 'batchnorm':
      return {
        outShape: s,
        varShapes: {
          gamma: { shape: [ch], init: 'one', fanIn: 1 },
          beta: { shape: [ch], init: 'zero', fanIn: 1 },
          mean: { shape: [ch], init: 'zero', fanIn: 1 },
          variance: { shape: [ch], init: 'one', fanIn: 1 },
        },
      };
    case 'affine':
      return {
        outShape: s,
        varShapes: { scale: { shape: [ch], init: 'one', fanIn: 1 }, shift: { shape: [ch], init: 'zero', fanIn: 1 } },
      };
    case 'reshape':
      if (prod(l.shape) !== prod(s))
        throw new NetSpecError(`${field}.shape`, `cannot reshape [${s}] (${prod(s)} values) to [${l.shape}]`);
      return { outShape: [...l.shape], varShapes: {} };
    case 'flatten':
      return { outShape: [prod(s)], varShapes: {} };
    case 'avgPool':
    case 'maxPool': {
      need(3);
      const st = l.stride ?? l.size;
      return {
        outShape: [outSize(s[0], l.size, st, l.padding), outSize(s[1], l.size, st, l.padding), ch],
        varShapes: {},
      };
    }
    case 'globalAvgPool':
      need(3);
      return { outShape: [ch], varShapes: {} };
    default:
      return { outShape: s, varShapes: {} };
  }
}

/** (re)compute the cached flipped kernel when the kernel variable was assigned (its dataId changed) */
function refreshFlip(l: BuiltLayer): tf.Tensor4D {
  const k = l.vars.kernel;
  if (l.flip && l.flip.dataId === k.dataId) return l.flip.t;
  l.flip?.t.dispose();
  const t = tf.keep(tf.tidy(() => flipKernel(k as tf.Tensor4D)));
  l.flip = { dataId: k.dataId, t };
  return t;
}

function runLayer(l: BuiltLayer, x: tf.Tensor, train: boolean): tf.Tensor {
  const v = l.vars;
  const sp = l.spec;
  switch (sp.type) {
    case 'dense': {
      const y = tf.matMul(x as tf.Tensor2D, v.kernel as tf.Tensor2D);
      return v.bias ? tf.add(y, v.bias) : y;
    }
    case 'conv2d': {
      const y = conv2dFast(
        x as tf.Tensor4D,
        v.kernel as tf.Tensor4D,
        sp.stride,
        sp.padding,
        train,
        train ? undefined : () => refreshFlip(l),
      );
      return v.bias ? tf.add(y, v.bias) : y;
    }
    case 'conv2dTranspose': {
      const [b] = x.shape;
      const y = tf.conv2dTranspose(
        x as tf.Tensor4D,
        v.kernel as tf.Tensor4D,
        [b, l.outShape[0], l.outShape[1], l.outShape[2]],
        sp.stride,
        'same',
      );
      return v.bias ? tf.add(y, v.bias) : y;
    }
    case 'upsample':
      return upsampleNearest(x as tf.Tensor4D, sp.factor);
    case 'relu':
      return tf.relu(x);
    case 'leakyRelu':
      return tf.leakyRelu(x, sp.alpha);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'batchnorm': {
      const scale = tf.mul(v.gamma, tf.rsqrt(tf.add(v.variance, sp.epsilon)));
      return tf.add(tf.mul(tf.sub(x, v.mean), scale), v.beta);
    }
    case 'affine':
      return tf.add(tf.mul(x, v.scale), v.shift);
    case 'reshape':
      return tf.reshape(x, [x.shape[0], ...sp.shape]);
    case 'flatten':
      return tf.reshape(x, [x.shape[0], prod(l.outShape)]);
    case 'avgPool':
      return tf.avgPool(x as tf.Tensor4D, sp.size, sp.stride ?? sp.size, sp.padding);
    case 'maxPool':
      return tf.maxPool(x as tf.Tensor4D, sp.size, sp.stride ?? sp.size, sp.padding);
    case 'globalAvgPool':
      return tf.mean(x, [1, 2]);
    case 'dropout':
      return x;
  }
}
