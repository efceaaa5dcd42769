// The same seeded chains on TensorFlow.js and on ONNX Runtime: every mode and condition kind, 20 steps.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  add,
  cond,
  createChain,
  stepBatch,
  buildRandomPack,
  Rng,
  type CreateChainOptions,
  type Pack,
  type ChainResult,
} from '../src/index';
import { setRuntime } from '../src/runtime/index';
import { OrtRuntime } from '../src/runtime/ort';
import { useCpu } from './helpers';

let pack: Pack;
let ort: OrtRuntime;
beforeAll(async () => {
  await useCpu();
  ort = new OrtRuntime({ provider: 'cpu', threads: 1 });
  pack = buildRandomPack(
    { image: [16, 16, 3], codeDim: 24, keywords: ['red', 'blue', 'star'], hdae: true, fastMlp: true },
    9,
  );
});
afterAll(async () => {
  setRuntime(null);
  await ort.dispose();
});

function image16(seed: number) {
  const r = new Rng(seed);
  return { shape: [16, 16, 3], data: Float32Array.from({ length: 768 }, () => r.uniform()) };
}
const mask16 = { shape: [16, 16], data: Float32Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 1 : 0)) };

const specs = (): CreateChainOptions[] => [
  { id: 'ppgn-class', seed: 1, condition: cond.class('class1'), config: { eps1: 0.1, eps3: 0.05 } },
  {
    id: 'ppgn-softmax-keywords',
    seed: 2,
    condition: add(cond.class(2, { variant: 'softmax' }), cond.keywords(['star', 'red']).scale(0.5)),
    config: { eps3: 0.02 },
  },
  {
    id: 'logit-unit',
    seed: 3,
    condition: add(cond.class(0, { variant: 'logit' }), cond.unit('conv2', 1, { x: 1, y: 1 })),
    config: { eps3: 0.02 },
  },
  { id: 'imageRef', seed: 4, condition: cond.imageRef(image16(4)), config: { eps3: 0.02 } },
  {
    id: 'inpaint',
    seed: 5,
    condition: add(cond.class('class3'), cond.context(image16(5), mask16)),
    config: { eps4: 1e-2, eps3: 0.02 },
  },
  {
    id: 'hdae',
    seed: 6,
    condition: cond.class('class4'),
    config: { prior: 'hdae', eps1: 0.3, eps3: 0.05, normalize: false, lr: 0.5 },
  },
  { id: 'dgnam', seed: 7, condition: cond.unit('conv1', 2), config: { mode: 'dgnam', decay: 0.05 } },
  { id: 'fast', seed: 8, condition: cond.class('class1'), config: { mode: 'fast', eps1: 0.5, eps2: 1e-3 } },
  { id: 'mala', seed: 9, condition: cond.class('class2'), config: { mode: 'mala', stepSize: 0.02 } },
  { id: 'hmc', seed: 10, condition: cond.class('class0'), config: { mode: 'hmc', stepSize: 0.02, leapfrog: 3 } },
];

async function run(): Promise<{ h: Float32Array[]; last: ChainResult[]; images: Float32Array[] }> {
  const chains = [];
  for (const s of specs()) chains.push(await createChain(pack, s));
  let last: ChainResult[] = [];
  for (let i = 0; i < 20; i++) last = await stepBatch(pack, chains, { render: i === 19 });
  return { h: chains.map((c) => Float32Array.from(c.h)), last, images: last.map((r) => r.image!) };
}

describe('the same seed gives the same chain on TensorFlow.js and ONNX Runtime', () => {
  it('after 20 steps, in every mode and with every condition kind', async () => {
    setRuntime(null);
    const ref = await run();
    setRuntime(ort);
    const got = await run();
    specs().forEach((s, i) => {
      let d = 0;
      let m = 1e-6;
      for (let k = 0; k < ref.h[i].length; k++) {
        d = Math.max(d, Math.abs(got.h[i][k] - ref.h[i][k]));
        m = Math.max(m, Math.abs(ref.h[i][k]));
      }
      expect(d / m, `chain ${s.id}: h`).toBeLessThan(1e-3);
      let di = 0;
      for (let k = 0; k < ref.images[i].length; k++) di = Math.max(di, Math.abs(got.images[i][k] - ref.images[i][k]));
      expect(di, `chain ${s.id}: frame`).toBeLessThan(5e-3);
      for (const [name, v] of Object.entries(ref.last[i].scores))
        expect(got.last[i].scores[name], `chain ${s.id}: ${name}`).toBeCloseTo(v, 3);
      if (ref.last[i].acceptRate !== undefined)
        expect(got.last[i].acceptRate, `chain ${s.id}: acceptance`).toBe(ref.last[i].acceptRate);
    });
  });
});
