// ONNX Runtime graphs compiled from net specs, against TensorFlow.js (forward and autodiff VJP) and float64
// finite differences of an independent reference forward (reference-net.ts), for every layer type and the
// geometries the compiler special-cases.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Net, Rng, type LayerSpec, type NetSpec } from '../src/index';
import { OrtRuntime } from '../src/runtime/ort';
import { TfjsRuntime } from '../src/runtime/tfjs';
import { compileForward, compileVjp, NetCompileError } from '../src/onnx/compile';
import { useCpu } from './helpers';
import { referenceForward } from './reference-net';

let ort: OrtRuntime;
const tfr = new TfjsRuntime();
beforeAll(async () => {
  await useCpu();
  ort = new OrtRuntime({ provider: 'cpu', threads: 1 });
});
afterAll(async () => {
  await ort.dispose();
});

/** a net whose every weight is random (biases, batchnorm statistics, affine scales included) */
function randomNet(spec: NetSpec, seed: number): Net {
  const probe = new Net(spec, { seed });
  const rng = new Rng(seed + 100);
  const weights: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(probe.getWeights())) {
    const kind = name.split('/')[1];
    weights[name] =
      kind === 'variance'
        ? Float32Array.from(v, () => 0.5 + rng.uniform())
        : kind === 'kernel'
          ? v
          : Float32Array.from(
              v,
              () =>
                rng.normal() * (kind === 'gamma' || kind === 'scale' ? 0.5 : 0.3) +
                (kind === 'gamma' || kind === 'scale' ? 1 : 0),
            );
  }
  probe.dispose();
  return new Net(spec, { weights });
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

interface Case {
  name: string;
  input: number[];
  layers: LayerSpec[];
  /** taps that get an incoming gradient besides the output */
  cot?: string[];
  /** smooth nets take a finite-difference step of 1e-4; others 1e-6, so that no kink is crossed */
  smooth?: boolean;
  /**
   * tfjs's own gradient is wrong here, so the VJP is checked against finite differences only: tfjs-core
   * 4.22's AvgPool gradient divides by the whole window even where its forward pass excluded the padding
   */
  tfjsGradWrong?: boolean;
}

const conv = (
  filters: number,
  kernel: number,
  stride = 1,
  padding: 'same' | 'valid' = 'same',
  name?: string,
): LayerSpec => ({ type: 'conv2d', filters, kernel, stride, padding, name });
const cases: Case[] = [
  {
    name: 'dense (bias, no bias)',
    input: [7],
    layers: [{ type: 'dense', units: 5, name: 'a' }, { type: 'tanh' }, { type: 'dense', units: 3, bias: false }],
    cot: ['a'],
    smooth: true,
  },
  { name: 'conv2d 3×3 stride 1 same', input: [6, 5, 3], layers: [conv(4, 3), { type: 'tanh' }], smooth: true },
  {
    name: 'conv2d 4×4 stride 1 same (asymmetric pads)',
    input: [6, 6, 2],
    layers: [conv(3, 4), { type: 'sigmoid' }],
    smooth: true,
  },
  { name: 'conv2d 3×3 stride 1 valid', input: [7, 6, 2], layers: [conv(3, 3, 1, 'valid')], smooth: true },
  {
    name: 'conv2d 3×3 stride 2 same (even and odd sizes)',
    input: [8, 7, 3],
    layers: [conv(4, 3, 2), { type: 'tanh' }],
    smooth: true,
  },
  {
    name: 'conv2d 2×2 stride 2 valid on an odd size',
    input: [7, 7, 2],
    layers: [conv(3, 2, 2, 'valid')],
    smooth: true,
  },
  { name: 'conv2d 5×5 stride 3 same', input: [10, 9, 2], layers: [conv(2, 5, 3)], smooth: true },
  {
    name: 'conv2dTranspose 3×3 stride 2',
    input: [4, 3, 3],
    layers: [{ type: 'conv2dTranspose', filters: 2, kernel: 3, stride: 2 }, { type: 'tanh' }],
    smooth: true,
  },
  {
    name: 'conv2dTranspose 4×4 stride 2',
    input: [3, 3, 2],
    layers: [{ type: 'conv2dTranspose', filters: 3, kernel: 4, stride: 2 }],
    smooth: true,
  },
  {
    name: 'conv2dTranspose 1×1 stride 2 (output padding)',
    input: [3, 2, 2],
    layers: [{ type: 'conv2dTranspose', filters: 2, kernel: 1, stride: 2 }],
    smooth: true,
  },
  {
    name: 'upsample ×2 and ×3',
    input: [3, 2, 2],
    layers: [{ type: 'upsample', factor: 2 }, conv(2, 3), { type: 'upsample', factor: 3 }, { type: 'sigmoid' }],
    smooth: true,
  },
  { name: 'relu', input: [5, 5, 2], layers: [conv(3, 3), { type: 'relu', name: 'r' }, conv(2, 3)], cot: ['r'] },
  {
    name: 'leakyRelu α 0.2 and −0.1',
    input: [5, 4, 2],
    layers: [conv(3, 3), { type: 'leakyRelu', alpha: 0.2 }, conv(2, 3), { type: 'leakyRelu', alpha: -0.1 }],
  },
  {
    name: 'tanh and sigmoid',
    input: [9],
    layers: [
      { type: 'dense', units: 6 },
      { type: 'tanh', name: 't' },
      { type: 'dense', units: 4 },
      { type: 'sigmoid' },
    ],
    cot: ['t'],
    smooth: true,
  },
  {
    name: 'batchnorm (spatial and flat)',
    input: [4, 4, 3],
    layers: [{ type: 'batchnorm' }, conv(2, 3), { type: 'flatten' }, { type: 'batchnorm', epsilon: 0.01 }],
    smooth: true,
  },
  {
    name: 'affine (spatial and flat)',
    input: [4, 3, 2],
    layers: [{ type: 'affine' }, { type: 'flatten' }, { type: 'dense', units: 4 }, { type: 'affine' }],
    smooth: true,
  },
  {
    name: 'reshape flat → spatial → spatial, flatten',
    input: [24],
    layers: [
      { type: 'dense', units: 24 },
      { type: 'reshape', shape: [2, 3, 4] },
      conv(4, 3),
      { type: 'reshape', shape: [3, 2, 4] },
      conv(2, 3),
      { type: 'flatten' },
      { type: 'dense', units: 3 },
    ],
    smooth: true,
  },
  {
    name: 'avgPool 3 stride 2 same (padding excluded), 2 same on an odd size',
    input: [9, 8, 2],
    layers: [{ type: 'avgPool', size: 3, stride: 2 }, conv(2, 3), { type: 'avgPool', size: 2 }, { type: 'tanh' }],
    smooth: true,
    tfjsGradWrong: true,
  },
  {
    name: 'avgPool 2 valid',
    input: [8, 6, 2],
    layers: [{ type: 'avgPool', size: 2, padding: 'valid' }, conv(2, 3), { type: 'tanh' }],
    smooth: true,
  },
  {
    name: 'avgPool 2 valid on an odd size',
    input: [7, 5, 2],
    layers: [{ type: 'avgPool', size: 2, padding: 'valid' }, { type: 'sigmoid' }],
    smooth: true,
  },
  {
    name: 'maxPool 2 valid and 2 same on an odd size',
    input: [6, 7, 2],
    layers: [
      conv(3, 3),
      { type: 'maxPool', size: 2, padding: 'same' },
      conv(2, 3),
      { type: 'maxPool', size: 2, padding: 'valid' },
    ],
  },
  {
    name: 'globalAvgPool',
    input: [5, 4, 3],
    layers: [conv(4, 3), { type: 'tanh' }, { type: 'globalAvgPool', name: 'gap' }, { type: 'dense', units: 2 }],
    cot: ['gap'],
    smooth: true,
  },
  {
    name: 'dropout (identity at inference)',
    input: [6],
    layers: [
      { type: 'dense', units: 4, name: 'a' },
      { type: 'dropout', rate: 0.5, name: 'd' },
      { type: 'dense', units: 2 },
    ],
    cot: ['d'],
    smooth: true,
  },
  {
    name: 'branches (from) with gradients at several taps',
    input: [6, 6, 3],
    layers: [
      conv(4, 3, 2, 'same', 'c1'),
      { type: 'tanh', name: 't1' },
      { type: 'flatten', name: 'flat' },
      { type: 'dense', units: 5, name: 'code' },
      { type: 'dense', units: 3, name: 'logits', from: 'code' },
      { type: 'dense', units: 4, name: 'kw', from: 'flat' },
      { type: 'flatten', name: 'fromInput', from: 'input' },
      { type: 'dense', units: 2 },
    ],
    cot: ['t1', 'code', 'logits', 'kw'],
    smooth: true,
  },
];

describe('ONNX Runtime graphs compiled from net specs', () => {
  for (const [k, c] of cases.entries()) {
    it(`${c.name}: forward and VJP match TensorFlow.js and float64 finite differences`, async () => {
      const net = randomNet({ input: c.input, layers: c.layers }, 10 + k);
      const rng = new Rng(1000 + k);
      const B = 2;
      const x = rng.normals(new Float32Array(B * size(c.input)));
      const taps = net.tapNames;
      const a = await ort.forward(net, x, B, { taps, keep: true });
      const b = await tfr.forward(net, x, B, { taps, keep: true });
      expect(relErr(a.output, b.output)).toBeLessThan(1e-5);
      for (const t of taps) expect(relErr(a.taps[t], b.taps[t]), `tap ${t}`).toBeLessThan(1e-5);
      const cots: Record<string, Float32Array> = { '@output': rng.normals(new Float32Array(a.output.length)) };
      for (const t of c.cot ?? []) cots[t] = rng.normals(new Float32Array(a.taps[t].length));
      const ga = await ort.vjp(net, a, cots);
      const gb = await tfr.vjp(net, b, cots);
      expect(ga.length).toBe(x.length);
      if (c.tfjsGradWrong) expect(relErr(ga, gb)).toBeGreaterThan(1e-2);
      else expect(relErr(ga, gb)).toBeLessThan(1e-4);
      // the float64 reference forward agrees with ONNX Runtime's …
      const n = size(c.input);
      const weights = net.getWeights();
      const refAt = (xe: Float64Array, b: number) =>
        referenceForward(net.rawSpec, weights, xe.subarray(b * n, (b + 1) * n));
      const x64 = Float64Array.from(x);
      for (let b = 0; b < B; b++) {
        const r = refAt(x64, b);
        const outLen = a.output.length / B;
        expect(
          relErr(a.output.subarray(b * outLen, (b + 1) * outLen), r.outputs[r.outputs.length - 1].data),
          'float64 reference forward',
        ).toBeLessThan(1e-5);
      }
      // … and its central finite difference of Σ⟨cot, tap⟩ along a random v, in float64, checks the VJP
      const v = rng.normals(new Float32Array(x.length));
      const objective = (e: number) => {
        const xe = Float64Array.from(x, (xi, i) => xi + e * v[i]);
        let s = 0;
        for (let b = 0; b < B; b++) {
          const r = refAt(xe, b);
          for (const [name, cot] of Object.entries(cots)) {
            const y = (name === '@output' ? r.outputs[r.outputs.length - 1] : r.byName[name]).data;
            for (let i = 0; i < y.length; i++) s += y[i] * cot[b * y.length + i];
          }
        }
        return s;
      };
      const e = c.smooth ? 1e-4 : 1e-6;
      const fd = (objective(e) - objective(-e)) / (2 * e);
      let dot = 0;
      let scale = 0;
      for (let i = 0; i < x.length; i++) {
        dot += ga[i] * v[i];
        scale += Math.abs(ga[i] * v[i]);
      }
      expect(Math.abs(fd - dot) / scale, 'VJP vs float64 finite differences').toBeLessThan(1e-4);
      net.dispose();
    });
  }

  it('a VJP from taps that do not reach the input is zero; passes are independent of later runs', async () => {
    const net = randomNet({ input: [4], layers: [{ type: 'dense', units: 3, name: 'a' }, { type: 'tanh' }] }, 3);
    expect(compileVjp({ spec: net.rawSpec, weights: net.getWeights() }, [])).toBeNull();
    const x1 = Float32Array.of(1, 2, 3, 4);
    const p1 = await ort.forward(net, x1, 1, { keep: true });
    const before = Float32Array.from(p1.output);
    await ort.forward(net, Float32Array.of(-4, 0, 9, 1), 1, { keep: true });
    expect(Array.from(p1.output)).toEqual(Array.from(before));
    expect(Array.from(await ort.vjp(net, p1, {}))).toEqual([0, 0, 0, 0]);
    net.dispose();
  });

  it('says clearly which layer it cannot differentiate', () => {
    const spec: NetSpec = { input: [6, 6, 2], layers: [{ type: 'maxPool', size: 3, stride: 2 }] };
    const net = new Net(spec, { seed: 1 });
    expect(() => compileVjp({ spec, weights: net.getWeights(), name: 'D' }, ['@output'])).toThrow(NetCompileError);
    expect(() => compileVjp({ spec, weights: net.getWeights(), name: 'D' }, ['@output'])).toThrow(
      /D layer maxPool_0: maxPool with overlapping windows/,
    );
    expect(() => compileForward({ spec, weights: {}, name: 'D' }, [], false)).not.toThrow();
    const conv = { input: [4, 4, 1], layers: [{ type: 'conv2d', filters: 1, kernel: 3 }] } as NetSpec;
    expect(() => compileForward({ spec: conv, weights: {}, name: 'C' }, [], false)).toThrow(
      /C: missing weight "conv2d_0\/kernel"/,
    );
    net.dispose();
  });
});
