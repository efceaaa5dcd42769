import { tf, ensureGradients, Net, makePack, type Pack, type PackManifestInput } from '../src/index';
import { setRuntime } from '../src/runtime/index';
import { OrtRuntime } from '../src/runtime/ort';

export async function useCpu(): Promise<void> {
  await ensureGradients();
  await tf.setBackend('cpu');
  await tf.ready();
}

export type RuntimeChoice = 'tfjs' | 'onnxruntime';

/** tfjs on its cpu backend, or ONNX Runtime's CPU provider (tfjs then only holds the weights) */
export async function useRuntime(rt: RuntimeChoice): Promise<void> {
  await useCpu();
  setRuntime(rt === 'onnxruntime' ? new OrtRuntime({ provider: 'cpu', threads: 1 }) : null);
}

/** Smooth (tanh/sigmoid) pack for gradient checks: 8×8×3 images, code 6, 3 classes, 5 keywords. */
export function smoothPack(seed = 1): Pack {
  const G = new Net(
    {
      input: [6],
      layers: [
        { type: 'dense', units: 64, name: 'fc' },
        { type: 'reshape', shape: [4, 4, 4] },
        { type: 'tanh' },
        { type: 'upsample', factor: 2 },
        { type: 'conv2d', filters: 3, kernel: 3, name: 'rgb' },
        { type: 'sigmoid', name: 'image' },
      ],
    },
    { seed: seed * 3 + 1 },
  );
  const E = new Net(
    {
      input: [8, 8, 3],
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, stride: 2, name: 'c1' },
        { type: 'tanh', name: 't1' },
        { type: 'avgPool', size: 2, name: 'pool' },
        { type: 'flatten' },
        { type: 'dense', units: 6, name: 'fc' },
        { type: 'tanh', name: 'code' },
        { type: 'dense', units: 3, name: 'logits', from: 'code' },
        { type: 'dense', units: 5, name: 'keywords', from: 'code' },
      ],
    },
    { seed: seed * 3 + 2, gain: 2 },
  );
  const manifest: PackManifestInput = {
    name: 'smooth',
    version: '1',
    licence: 'CC0-1.0',
    image: { height: 8, width: 8, channels: 3, range: '[0,1]' },
    code: { dim: 6, min: null, max: null, encoderTap: 'code' },
    networks: { G: { file: 'G.net.json' }, E: { file: 'E.net.json' } },
    conditions: [
      { id: 'class', kind: 'classes', net: 'E', output: 'logits', labels: ['cat', 'dog', 'smiling face'] },
      {
        id: 'kw',
        kind: 'keywords',
        net: 'E',
        output: 'keywords',
        vocabulary: ['red', 'happy', 'ice cream', 'star', 'heart'],
      },
      {
        id: 'units',
        kind: 'units',
        net: 'E',
        layers: [
          { name: 't1', channels: 4 },
          { name: 'code', channels: 6 },
        ],
      },
    ],
  };
  return makePack(manifest, { G, E });
}

export function invert(A: number[][]): number[][] {
  const n = A.length;
  const M = A.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const d = M[c][c];
    for (let j = 0; j < 2 * n; j++) M[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c];
      for (let j = 0; j < 2 * n; j++) M[r][j] -= f * M[c][j];
    }
  }
  return M.map((r) => r.slice(n));
}

/**
 * Linear pack: code h ∈ R⁴, image x = h·A reshaped to 2×2×1, E(x) = x·A⁻¹ = h (so E∘G = identity),
 * and a 2-class linear softmax classifier with logit difference a·h.
 */
export function linearPack(a: number[] = [1.5, 0, -1, 0.5]): { pack: Pack; A: number[][]; a: number[] } {
  const A = [
    [1.2, 0.3, -0.2, 0.1],
    [0.1, 0.9, 0.25, -0.3],
    [-0.2, 0.15, 1.1, 0.2],
    [0.3, -0.1, 0.05, 0.8],
  ];
  const Ainv = invert(A);
  // logits = x·Wc, Wc[:,0] = 0, Wc[:,1] = A⁻¹·a  →  logit1 − logit0 = h·A·A⁻¹·a = a·h
  const w1 = Ainv.map((row) => row.reduce((s, v, j) => s + v * a[j], 0));
  const Wc = w1.flatMap((v) => [0, v]);
  const G = new Net(
    {
      input: [4],
      layers: [
        { type: 'dense', units: 4, bias: false, name: 'fc' },
        { type: 'reshape', shape: [2, 2, 1], name: 'image' },
      ],
    },
    { weights: { 'fc/kernel': A.flat() } },
  );
  const E = new Net(
    {
      input: [2, 2, 1],
      layers: [
        { type: 'flatten', name: 'flat' },
        { type: 'dense', units: 4, bias: false, name: 'code' },
        { type: 'dense', units: 2, bias: false, name: 'logits', from: 'flat' },
      ],
    },
    { weights: { 'code/kernel': Ainv.flat(), 'logits/kernel': Wc } },
  );
  const pack = makePack(
    {
      name: 'linear',
      version: '1',
      licence: 'CC0-1.0',
      image: { height: 2, width: 2, channels: 1, range: '[-1,1]' },
      code: { dim: 4, min: null, max: null, encoderTap: 'code', init: { mean: 0, std: 1 } },
      networks: { G: { file: 'G.net.json' }, E: { file: 'E.net.json' } },
      conditions: [{ id: 'class', kind: 'classes', net: 'E', output: 'logits', labels: ['neg', 'pos'] }],
    },
    { G, E },
  );
  return { pack, A, a };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
