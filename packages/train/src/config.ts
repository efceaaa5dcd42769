/**
 * Training configurations. `cpu-mini` trains dense/MLP networks at 32×32 on the wasm backend in ~15 minutes on
 * 2 CPU cores; `gpu` trains convolutional networks at 64×64 for the webgpu backend; `tiny` is for tests.
 */
import type { NetSpec } from '@ppgn/core';
import type { DatasetOptions } from './data/dataset';
import type { AugmentOptions } from './data/augment';

export interface Sizes {
  image: [number, number, number];
  classes: number;
  keywords: number;
  vendors: number;
  colours: number;
}

export interface NetSpecs {
  E: NetSpec;
  G: NetSpec;
  D: NetSpec;
  fastMlp: NetSpec;
  hdae: NetSpec;
  style: NetSpec;
  colour: NetSpec;
  /** held-out evaluation classifier (metrics only, never a condition) */
  evalC: NetSpec;
}

export interface ClassifierPhase {
  steps: number;
  batch: number;
  lr: number;
  /** L2 weight decay on kernels */
  l2: number;
}

export interface TrainConfig {
  name: string;
  packName: string;
  description: string;
  backend: 'wasm' | 'cpu' | 'webgpu' | 'tensorflow' | 'auto';
  data: DatasetOptions;
  codeDim: number;
  /** E layer used for the feature-matching loss (the paper's pool5) */
  featureTap: string;
  /** E layers exposed as hidden-unit conditions */
  unitTaps: string[];
  nets: (s: Sizes) => NetSpecs;
  augment: AugmentOptions;
  phases: {
    E: ClassifierPhase & { keywordWeight: number };
    G: {
      steps: number;
      batch: number;
      lrG: number;
      lrD: number;
      wImg: number;
      wFeat: number;
      wGan: number;
      l2: number;
    };
    fastMlp: ClassifierPhase;
    hdae: ClassifierPhase & { noise: number };
    style: ClassifierPhase;
    colour: ClassifierPhase;
    evalC: ClassifierPhase;
  };
  checkpointEvery: number;
  /** sampler defaults written to the manifest (tuned per pack) */
  sampler: { eps1: number; eps2: number; eps3: number; lr: number; lrEnd: number; steps: number };
}

const dense = (units: number, name?: string, from?: string) => ({
  type: 'dense' as const,
  units,
  ...(name ? { name } : {}),
  ...(from ? { from } : {}),
});

function mlpClassifier(
  name: string,
  image: [number, number, number],
  hidden: number[],
  out: number,
  pool = 1,
): NetSpec {
  return {
    name,
    input: [...image],
    layers: [
      ...(pool > 1 ? [{ type: 'avgPool' as const, size: pool }] : []),
      { type: 'flatten' },
      ...hidden.flatMap((u, i) => [dense(u, `fc${i + 1}`), { type: 'relu' as const, name: `relu${i + 1}` }]),
      dense(out, 'logits'),
    ],
  };
}

function codeMlp(name: string, D: number, hidden: number[], out: number, outName: string, reluOut: boolean): NetSpec {
  return {
    name,
    input: [D],
    layers: [
      ...hidden.flatMap((u, i) => [dense(u, `fc${i + 1}`), { type: 'relu' as const }]),
      dense(out, reluOut ? 'pre' : outName),
      ...(reluOut ? [{ type: 'relu' as const, name: outName }] : []),
    ],
  };
}

/** a small stride-2 conv classifier (different family from the MLP E, for held-out evaluation) */
function convClassifier(
  name: string,
  image: [number, number, number],
  channels: number[],
  hidden: number,
  out: number,
): NetSpec {
  return {
    name,
    input: [...image],
    layers: [
      ...channels.flatMap((c, i) => [
        { type: 'conv2d' as const, filters: c, kernel: 3, stride: 2, name: `conv${i + 1}` },
        { type: 'relu' as const },
      ]),
      { type: 'flatten' },
      dense(hidden, 'fc'),
      { type: 'relu' },
      dense(out, 'logits'),
    ],
  };
}

const miniNets =
  (codeDim: number, eHidden: number, gHidden: number[]) =>
  (s: Sizes): NetSpecs => {
    const [H, W, C] = s.image;
    const P = H * W * C;
    return {
      E: {
        name: 'E',
        input: [...s.image],
        layers: [
          { type: 'flatten' },
          dense(eHidden, 'fc1'),
          { type: 'relu', name: 'h1' },
          dense(codeDim, 'fc2'),
          { type: 'relu', name: 'code' },
          dense(s.classes, 'logits', 'code'),
          ...(s.keywords ? [dense(s.keywords, 'keywords', 'code')] : []),
        ],
      },
      G: {
        name: 'G',
        input: [codeDim],
        layers: [
          ...gHidden.flatMap((u, i) => [dense(u, `fc${i + 1}`), { type: 'leakyRelu' as const, alpha: 0.2 }]),
          dense(P, 'rgb'),
          { type: 'reshape', shape: [H, W, C] },
          { type: 'sigmoid', name: 'image' },
        ],
      },
      D: {
        name: 'D',
        input: [...s.image],
        layers: [
          { type: 'flatten' },
          dense(256),
          { type: 'leakyRelu', alpha: 0.2 },
          dense(128),
          { type: 'leakyRelu', alpha: 0.2 },
          dense(1, 'logit'),
        ],
      },
      fastMlp: codeMlp('fastMlp', codeDim, [128], s.classes, 'logits', false),
      hdae: codeMlp('hdae', codeDim, [512, 512], codeDim, 'out', true),
      style: mlpClassifier('style', s.image, [128], s.vendors, 2),
      colour: mlpClassifier('colour', s.image, [64], s.colours, 2),
      evalC: convClassifier('evalC', s.image, [24, 48, 96], 128, s.classes),
    };
  };

export const CPU_MINI: TrainConfig = {
  name: 'cpu-mini',
  packName: 'emoji32-mlp',
  description: 'Interim 32×32 emoji pack with dense (MLP) networks, trained on CPU (wasm backend) in minutes',
  backend: 'wasm',
  data: { size: 32, maxPerClass: 90, testFraction: 0.15, minKeywordCount: 20, maxKeywords: 300, seed: 1 },
  codeDim: 256,
  featureTap: 'h1',
  unitTaps: ['h1', 'code'],
  nets: miniNets(256, 384, [512, 512]),
  augment: { shift: 2, scale: 0.08, jitter: 0.08 },
  phases: {
    E: { steps: 3000, batch: 64, lr: 1e-3, l2: 5e-5, keywordWeight: 0.5 },
    G: { steps: 4000, batch: 64, lrG: 5e-4, lrD: 2e-4, wImg: 1, wFeat: 0.05, wGan: 0.005, l2: 1e-5 },
    fastMlp: { steps: 1500, batch: 64, lr: 1e-3, l2: 1e-5 },
    hdae: { steps: 4000, batch: 64, lr: 1e-3, l2: 0, noise: 0.1 },
    style: { steps: 4000, batch: 64, lr: 1e-3, l2: 1e-5 },
    colour: { steps: 3000, batch: 64, lr: 1e-3, l2: 1e-5 },
    evalC: { steps: 2000, batch: 64, lr: 1e-3, l2: 1e-5 },
  },
  checkpointEvery: 500,
  sampler: { eps1: 1e-3, eps2: 1, eps3: 1e-17, lr: 0.1, lrEnd: 0.1, steps: 200 },
};

/** conv nets at 64×64 (EMOJI64-like), meant for the webgpu backend on a GPU */
export const GPU: TrainConfig = {
  name: 'gpu',
  packName: 'emoji64',
  description: '64×64 emoji pack with convolutional networks (Noiseless Joint PPGN-h recipe)',
  backend: 'webgpu',
  data: { size: 64, maxPerClass: 90, testFraction: 0.15, minKeywordCount: 20, maxKeywords: 400, seed: 1 },
  codeDim: 256,
  featureTap: 'relu3',
  unitTaps: ['relu1', 'relu2', 'relu3', 'relu4', 'code'],
  nets: (s) => {
    const D = 256;
    const E: NetSpec = {
      name: 'E',
      input: [...s.image],
      layers: [
        ...[32, 64, 128, 256].flatMap((c, i) => [
          { type: 'conv2d' as const, filters: c, kernel: 3, stride: 2, name: `conv${i + 1}` },
          { type: 'relu' as const, name: `relu${i + 1}` },
        ]),
        { type: 'flatten' },
        dense(D, 'fc'),
        { type: 'relu', name: 'code' },
        dense(s.classes, 'logits', 'code'),
        ...(s.keywords ? [dense(s.keywords, 'keywords', 'code')] : []),
      ],
    };
    const ch = [256, 128, 64, 32, 16];
    const G: NetSpec = {
      name: 'G',
      input: [D],
      layers: [
        dense(4 * 4 * ch[0], 'fc'),
        { type: 'reshape', shape: [4, 4, ch[0]] },
        { type: 'leakyRelu', alpha: 0.2 },
        ...ch.slice(1).flatMap((c, i) => [
          { type: 'upsample' as const, factor: 2 },
          { type: 'conv2d' as const, filters: c, kernel: 3, name: `up${i + 1}` },
          { type: 'leakyRelu' as const, alpha: 0.2 },
        ]),
        { type: 'conv2d', filters: 3, kernel: 3, name: 'rgb' },
        { type: 'sigmoid', name: 'image' },
      ],
    };
    const Dn: NetSpec = {
      name: 'D',
      input: [...s.image],
      layers: [
        ...[32, 64, 128, 256].flatMap((c, i) => [
          { type: 'conv2d' as const, filters: c, kernel: 4, stride: 2, name: `conv${i + 1}` },
          { type: 'leakyRelu' as const, alpha: 0.2 },
        ]),
        { type: 'flatten' },
        dense(1, 'logit'),
      ],
    };
    return {
      E,
      G,
      D: Dn,
      fastMlp: codeMlp('fastMlp', D, [256], s.classes, 'logits', false),
      hdae: codeMlp('hdae', D, [512, 512], D, 'out', true),
      style: convClassifier('style', s.image, [16, 32, 64], 64, s.vendors),
      colour: mlpClassifier('colour', s.image, [64], s.colours, 4),
      evalC: convClassifier('evalC', s.image, [24, 48, 96, 160], 192, s.classes),
    };
  },
  augment: { shift: 4, scale: 0.08, jitter: 0.08 },
  phases: {
    E: { steps: 10000, batch: 64, lr: 5e-4, l2: 5e-5, keywordWeight: 0.5 },
    G: { steps: 30000, batch: 64, lrG: 2e-4, lrD: 2e-4, wImg: 1, wFeat: 0.05, wGan: 0.005, l2: 1e-5 },
    fastMlp: { steps: 5000, batch: 128, lr: 1e-3, l2: 1e-5 },
    hdae: { steps: 8000, batch: 128, lr: 1e-3, l2: 0, noise: 0.1 },
    style: { steps: 5000, batch: 64, lr: 1e-3, l2: 1e-5 },
    colour: { steps: 3000, batch: 64, lr: 1e-3, l2: 1e-5 },
    evalC: { steps: 8000, batch: 64, lr: 5e-4, l2: 1e-5 },
  },
  checkpointEvery: 2000,
  sampler: { eps1: 1e-5, eps2: 1, eps3: 1e-17, lr: 1, lrEnd: 1, steps: 200 },
};

/** a few steps on tiny images: tests and smoke runs */
export const TINY: TrainConfig = {
  ...CPU_MINI,
  name: 'tiny',
  packName: 'tiny',
  description: 'Tiny test pack',
  backend: 'cpu',
  data: { size: 8, maxPerClass: 50, testFraction: 0.25, minKeywordCount: 2, maxKeywords: 20, seed: 1 },
  codeDim: 16,
  nets: (s) => {
    const n = miniNets(16, 24, [32])(s);
    return {
      ...n,
      evalC: convClassifier('evalC', s.image, [4, 8], 16, s.classes),
      hdae: codeMlp('hdae', 16, [12], 16, 'out', true),
    };
  },
  phases: {
    E: { steps: 4, batch: 8, lr: 1e-3, l2: 1e-5, keywordWeight: 0.5 },
    G: { steps: 4, batch: 8, lrG: 5e-4, lrD: 2e-4, wImg: 1, wFeat: 0.1, wGan: 0.005, l2: 0 },
    fastMlp: { steps: 3, batch: 8, lr: 1e-3, l2: 0 },
    hdae: { steps: 3, batch: 8, lr: 1e-3, l2: 0, noise: 0.1 },
    style: { steps: 3, batch: 8, lr: 1e-3, l2: 0 },
    colour: { steps: 3, batch: 8, lr: 1e-3, l2: 0 },
    evalC: { steps: 3, batch: 8, lr: 1e-3, l2: 0 },
  },
  checkpointEvery: 2,
};

/**
 * The `gpu` recipe cut to one lent GPU session (30 min of device time, 10 min per command): tfjs-webgpu
 * training is dispatch-bound at ~0.35 s/step whatever the batch (H100, ../shared/gpu/README.md), so
 * big batches and ~5k steps in all; checkpoints often enough that a 10-minute command loses little.
 */
export const GPU_BUDGET: TrainConfig = {
  ...GPU,
  name: 'gpu-budget',
  phases: {
    E: { ...GPU.phases.E, steps: 1200, batch: 128 },
    G: { ...GPU.phases.G, steps: 2400, batch: 128 },
    fastMlp: { ...GPU.phases.fastMlp, steps: 300, batch: 256 },
    hdae: { ...GPU.phases.hdae, steps: 300, batch: 256 },
    style: { ...GPU.phases.style, steps: 300, batch: 128 },
    colour: { ...GPU.phases.colour, steps: 200, batch: 128 },
    evalC: { ...GPU.phases.evalC, steps: 800, batch: 128 },
  },
  checkpointEvery: 200,
};

export const CONFIGS: Record<string, TrainConfig> = {
  'cpu-mini': CPU_MINI,
  gpu: GPU,
  'gpu-budget': GPU_BUDGET,
  tiny: TINY,
};

/** a copy of `cfg` with every phase's batch size replaced (shape checks, small machines) */
export function withBatch(cfg: TrainConfig, batch: number): TrainConfig {
  const phases = Object.fromEntries(
    Object.entries(cfg.phases).map(([k, p]) => [k, { ...p, batch }]),
  ) as unknown as TrainConfig['phases'];
  return { ...cfg, phases };
}
