/**
 * The training pipeline: E (classifier + keyword head, h = post-ReLU penultimate layer) → G with D
 * (Noiseless Joint PPGN-h: pixel L2 + feature L2 in an E layer + GAN) → plug-in networks G never saw
 * (fast-mode MLP p(class|h), h-DAE, style and colour classifiers) → held-out evaluation classifier → pack.
 * Every phase checkpoints into .cache/train-runs/<run>/ and resumes from there.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Net, Rng, initBackend, type NetSpec } from '@ppgn/core';
import { tf, installFastMatMulGrad } from './tf';
import type { TrainConfig, NetSpecs, Sizes, ClassifierPhase } from './config';
import { loadDataset, readDatasetFile, datasetStats, type Dataset } from './data/dataset';
import { ensureDataPackages, defaultDataDir, repoRoot } from './data/fetch';
import { augmentBatch, sampleIndices, type AugmentOptions } from './data/augment';
import { Progress, fmtTime } from './progress';
import { softmaxCE, sigmoidBCE, mse, l2Penalty, oneHot } from './losses';
import {
  saveNet,
  loadNetInto,
  saveOptimizer,
  loadOptimizer,
  readState,
  writeState,
  type RunState,
  type PhaseState,
} from './checkpoint';
import { exportPack, type CodeStats } from './export';
import { concat } from './util';

export type PhaseName = 'E' | 'G' | 'fastMlp' | 'hdae' | 'style' | 'colour' | 'evalC';
export const PHASES: PhaseName[] = ['E', 'G', 'fastMlp', 'hdae', 'style', 'colour', 'evalC'];
/** networks each phase trains */
const PHASE_NETS: Record<PhaseName, (keyof NetSpecs)[]> = {
  E: ['E'],
  G: ['G', 'D'],
  fastMlp: ['fastMlp'],
  hdae: ['hdae'],
  style: ['style'],
  colour: ['colour'],
  evalC: ['evalC'],
};
/** seed offsets: every network gets its own init seed (evalC deliberately far from E) */
const NET_SEED: Record<keyof NetSpecs, number> = {
  E: 11,
  G: 23,
  D: 37,
  fastMlp: 41,
  hdae: 53,
  style: 67,
  colour: 79,
  evalC: 9973,
};

export interface TrainOptions {
  config: TrainConfig;
  /** override the step count of every phase */
  steps?: number;
  seed?: number;
  resume?: boolean;
  /** pack output folder (default models/<config.packName>) */
  out?: string;
  /** run folder (default .cache/train-runs/<config>-s<seed>) */
  runDir?: string;
  /** use this dataset instead of the emoji packages (tests) */
  dataset?: Dataset;
  /** read the dataset from this cache file (`<key>.u8.bin`) instead of the emoji packages (GPU hosts) */
  datasetFile?: string;
  dataDir?: string;
  backend?: string;
  log?: (m: string) => void;
  progress?: boolean;
  /** command line recorded in the model card */
  command?: string;
  /** evaluate phase metrics on at most this many images per split (quick shape checks); default: all */
  evalLimit?: number;
}

export interface TrainSummary {
  config: string;
  pack: string;
  packDir: string;
  runDir: string;
  seed: number;
  backend: string;
  seconds: number;
  phases: Record<string, PhaseState>;
  params: Record<string, number>;
  packBytes: number;
  dataset: Record<string, unknown>;
}

interface Ctx {
  cfg: TrainConfig;
  ds: Dataset;
  nets: Record<keyof NetSpecs, Net>;
  seed: number;
  runDir: string;
  state: RunState;
  steps?: number;
  log: (m: string) => void;
  progress: boolean;
  evalLimit?: number;
}

/** evaluation subset (first `evalLimit` indices) */
function lim(ctx: Ctx, idx: Int32Array): Int32Array {
  return ctx.evalLimit && idx.length > ctx.evalLimit ? idx.slice(0, ctx.evalLimit) : idx;
}

function imageBatch(ds: Dataset, idx: ArrayLike<number>, aug: AugmentOptions, rng: Rng): tf.Tensor4D {
  const S = ds.size;
  return tf.tensor4d(augmentBatch(ds.images, S, idx, aug, rng), [idx.length, S, S, 3]);
}

function pick<T extends Int32Array | Uint8Array>(arr: T, idx: ArrayLike<number>, width = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < idx.length; i++) for (let k = 0; k < width; k++) out.push(arr[idx[i] * width + k]);
  return out;
}

/** logits of `tap` for images `idx` (no augmentation), batched */
export async function predict(
  net: Net,
  ds: Dataset,
  idx: ArrayLike<number>,
  tap = 'logits',
  batch = 256,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const S = ds.size;
  const n = S * S * 3;
  for (let s = 0; s < idx.length; s += batch) {
    const part = Array.from({ length: Math.min(batch, idx.length - s) }, (_, i) => idx[s + i]);
    const buf = new Float32Array(part.length * n);
    part.forEach((j, i) => buf.set(ds.images.subarray(j * n, (j + 1) * n), i * n));
    const t = tf.tidy(() => {
      const x = tf.tensor4d(buf, [part.length, S, S, 3]);
      const r = net.apply(x, { taps: [tap], tapsOnly: true });
      return tf.reshape(r.taps[tap], [part.length, -1]);
    });
    const d = (await t.data()) as Float32Array;
    const w = t.shape[1]!;
    t.dispose();
    for (let i = 0; i < part.length; i++) out.push(d.slice(i * w, (i + 1) * w));
  }
  return out;
}

export function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

export async function accuracy(net: Net, ds: Dataset, idx: ArrayLike<number>, labels: Int32Array): Promise<number> {
  if (!idx.length) return NaN;
  const logits = await predict(net, ds, idx);
  let ok = 0;
  logits.forEach((l, i) => (ok += argmax(l) === labels[idx[i]] ? 1 : 0));
  return ok / idx.length;
}

/** run `stepFn` for a phase with progress, checkpoints and resume */
async function runPhase(
  ctx: Ctx,
  name: PhaseName,
  steps: number,
  opts: Record<string, tf.Optimizer>,
  stepFn: (step: number, rng: Rng) => Promise<Record<string, number>>,
): Promise<{ msPerStep: number; seconds: number }> {
  const ckpt = path.join(ctx.runDir, 'ckpt', name);
  const prev = ctx.state.phases[name];
  let start = 0;
  const rng = new Rng(ctx.seed * 7919 + PHASES.indexOf(name) * 101 + 5);
  let rngUse = rng;
  if (prev && !prev.done && prev.step > 0 && existsSync(ckpt)) {
    for (const k of PHASE_NETS[name]) await loadNetInto(ckpt, k, ctx.nets[k]);
    for (const [k, o] of Object.entries(opts)) await loadOptimizer(ckpt, k, o);
    if (prev.rng) rngUse = new Rng(prev.rng);
    start = prev.step;
    ctx.log(`[train] ${name}: resuming at step ${start}/${steps}`);
  }
  const t0 = performance.now();
  const secondsBefore = prev && !prev.done ? prev.seconds : 0;
  const prog = new Progress(name, steps, start, ctx.progress);
  for (let s = start; s < steps; s++) {
    const info = await stepFn(s, rngUse);
    prog.update(s + 1, info);
    const done = s + 1;
    if (done % ctx.cfg.checkpointEvery === 0 && done < steps) {
      for (const k of PHASE_NETS[name]) await saveNet(ckpt, k, ctx.nets[k]);
      for (const [k, o] of Object.entries(opts)) await saveOptimizer(ckpt, k, o);
      ctx.state.phases[name] = {
        done: false,
        step: done,
        rng: rngUse.state,
        seconds: secondsBefore + (performance.now() - t0) / 1000,
      };
      await writeState(ctx.runDir, ctx.state);
    }
  }
  const msPerStep = prog.msPerStep(steps);
  return { msPerStep, seconds: secondsBefore + (performance.now() - t0) / 1000 };
}

function phaseSteps(ctx: Ctx, n: number): number {
  return ctx.steps ?? n;
}

// ---------------------------------------------------------------------------------------------
// phases

async function trainE(ctx: Ctx): Promise<Record<string, number>> {
  const { ds, cfg } = ctx;
  const E = ctx.nets.E;
  const p = cfg.phases.E;
  const opt = tf.train.adam(p.lr);
  const C = ds.classNames.length;
  const K = ds.vocab.length;
  const vars = E.trainableVariables;
  const r = await runPhase(ctx, 'E', phaseSteps(ctx, p.steps), { E: opt }, async (_s, rng) => {
    const idx = sampleIndices(ds.train, p.batch, rng);
    const x = imageBatch(ds, idx, cfg.augment, rng);
    const y = oneHot(pick(ds.cls, idx), C);
    const kw = K ? tf.tensor2d(pick(ds.keywords, idx, K), [idx.length, K]) : undefined;
    let ce = 0;
    let bce = 0;
    const cost = opt.minimize(
      () => {
        const out = E.apply(x, { taps: K ? ['logits', 'keywords'] : ['logits'], train: true });
        const lc = softmaxCE(out.taps.logits, y);
        let loss: tf.Scalar = lc;
        if (kw) {
          const lk = sigmoidBCE(out.taps.keywords, kw);
          // per-keyword BCE is small (sparse labels): scale by K so the head learns, times the configured weight
          loss = tf.add(loss, tf.mul(lk, p.keywordWeight * Math.min(K, 50))) as tf.Scalar;
          bce = (lk.dataSync() as Float32Array)[0];
        }
        ce = (lc.dataSync() as Float32Array)[0];
        return tf.add(loss, l2Penalty(E, p.l2)) as tf.Scalar;
      },
      true,
      vars,
    );
    cost?.dispose();
    tf.dispose([x, y, ...(kw ? [kw] : [])]);
    return { ce, bce };
  });
  const testAcc = await accuracy(E, ds, lim(ctx, ds.test), ds.cls);
  const trainAcc = await accuracy(E, ds, lim(ctx, ds.train), ds.cls);
  opt.dispose();
  ctx.log(
    `[train] E: ${r.msPerStep.toFixed(0)} ms/step, train acc ${(trainAcc * 100).toFixed(1)} %, held-out acc ${(testAcc * 100).toFixed(1)} %`,
  );
  return { msPerStep: r.msPerStep, seconds: r.seconds, trainAccuracy: trainAcc, testAccuracy: testAcc };
}

/** codes h = E(x) (and statistics) for a set of images */
async function codes(ctx: Ctx, idx: ArrayLike<number>): Promise<Float32Array[]> {
  return predict(ctx.nets.E, ctx.ds, idx, 'code');
}

async function codeStats(ctx: Ctx): Promise<CodeStats> {
  const hs = await codes(ctx, lim(ctx, ctx.ds.train));
  const all: number[] = [];
  let sum = 0;
  let sq = 0;
  let pos = 0;
  let posN = 0;
  for (const h of hs)
    for (const v of h) {
      all.push(v);
      sum += v;
      sq += v * v;
      if (v > 0) {
        pos += v;
        posN++;
      }
    }
  const n = all.length;
  all.sort((a, b) => a - b);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  const p999 = all[Math.min(n - 1, Math.floor(n * 0.999))];
  const zeroFrac = 1 - posN / n;
  const meanPositive = posN ? pos / posN : 0;
  const normMean = hs.reduce((a, h) => a + Math.sqrt(h.reduce((s, v) => s + v * v, 0)), 0) / hs.length;
  return { mean, std, max: all[n - 1], p999, zeroFraction: zeroFrac, meanPositive, normMean };
}

async function trainG(ctx: Ctx): Promise<Record<string, number>> {
  const { ds, cfg } = ctx;
  const { E, G, D } = ctx.nets;
  const p = cfg.phases.G;
  const optG = tf.train.adam(p.lrG, 0.5);
  const optD = tf.train.adam(p.lrD, 0.5);
  const tap = cfg.featureTap;
  let lastD = 1;
  let lastGan = 1;
  let pausedD = 0;
  let pausedG = 0;
  const r = await runPhase(ctx, 'G', phaseSteps(ctx, p.steps), { G: optG, D: optD }, async (_s, rng) => {
    const idx = sampleIndices(ds.train, p.batch, rng);
    const x = imageBatch(ds, idx, cfg.augment, rng);
    const [h, f] = tf.tidy(() => {
      const o = E.apply(x, { taps: ['code', tap], tapsOnly: true });
      return [o.taps.code, o.taps[tap]];
    });
    const fNorm = tf.tidy(() => tf.add(tf.mean(tf.square(f)), 1e-8));
    const ratio = lastD / Math.max(lastGan, 1e-8);
    const info: Record<string, number> = {};
    // D step (paused when D wins too much)
    if (!(ratio < 0.1) || p.wGan === 0) {
      if (p.wGan > 0) {
        const xg = tf.tidy(() => G.apply(h).output);
        const c = optD.minimize(
          () =>
            tf.add(
              sigmoidBCE(D.apply(x, { train: true }).output, 1),
              sigmoidBCE(D.apply(xg, { train: true }).output, 0),
            ) as tf.Scalar,
          true,
          D.trainableVariables,
        );
        lastD = (c!.dataSync() as Float32Array)[0];
        c!.dispose();
        xg.dispose();
      }
    } else pausedD++;
    // G step (paused when D loses too much)
    if (!(ratio > 10) || p.wGan === 0) {
      let li = 0;
      let lf = 0;
      let lg = 0;
      const c = optG.minimize(
        () => {
          const xg = G.apply(h, { train: true }).output;
          const lImg = mse(xg, x);
          const fe = E.apply(xg, { taps: [tap], tapsOnly: true }).taps[tap];
          const lFeat = tf.div(mse(fe, f), fNorm) as tf.Scalar;
          let loss = tf.add(tf.mul(lImg, p.wImg), tf.mul(lFeat, p.wFeat)) as tf.Scalar;
          if (p.wGan > 0) {
            const lGan = sigmoidBCE(D.apply(xg, { train: true }).output, 1);
            loss = tf.add(loss, tf.mul(lGan, p.wGan)) as tf.Scalar;
            lg = (lGan.dataSync() as Float32Array)[0];
          }
          li = (lImg.dataSync() as Float32Array)[0];
          lf = (lFeat.dataSync() as Float32Array)[0];
          return tf.add(loss, l2Penalty(G, p.l2)) as tf.Scalar;
        },
        true,
        G.trainableVariables,
      );
      c!.dispose();
      lastGan = lg || lastGan;
      Object.assign(info, { img: li, feat: lf, gan: lg });
    } else pausedG++;
    info.D = lastD;
    tf.dispose([x, h, f, fNorm]);
    return info;
  });
  // held-out reconstruction error
  const recon = await reconMse(ctx, lim(ctx, ds.test));
  const reconTrain = await reconMse(ctx, lim(ctx, ds.train.slice(0, 512)));
  optG.dispose();
  optD.dispose();
  ctx.log(
    `[train] G: ${r.msPerStep.toFixed(0)} ms/step, recon mse held-out ${recon.toFixed(4)} (train ${reconTrain.toFixed(4)}), D paused ${pausedD}×, G paused ${pausedG}×`,
  );
  return {
    msPerStep: r.msPerStep,
    seconds: r.seconds,
    reconMseTest: recon,
    reconMseTrain: reconTrain,
    pausedD,
    pausedG,
  };
}

export async function reconMse(
  ctx: { nets: { E: Net; G: Net }; ds: Dataset },
  idx: ArrayLike<number>,
): Promise<number> {
  const { E, G } = ctx.nets;
  const S = ctx.ds.size;
  const n = S * S * 3;
  let total = 0;
  for (let s = 0; s < idx.length; s += 256) {
    const part = Array.from({ length: Math.min(256, idx.length - s) }, (_, i) => idx[s + i]);
    const buf = new Float32Array(part.length * n);
    part.forEach((j, i) => buf.set(ctx.ds.images.subarray(j * n, (j + 1) * n), i * n));
    const t = tf.tidy(() => {
      const x = tf.tensor4d(buf, [part.length, S, S, 3]);
      const h = E.apply(x, { taps: ['code'], tapsOnly: true }).taps.code;
      return tf.sum(tf.square(tf.sub(G.apply(h).output, x)));
    });
    total += (await t.data())[0];
    t.dispose();
  }
  return total / (idx.length * n);
}

/** generic image classifier phase (style / colour / evalC) */
async function trainImageClassifier(
  ctx: Ctx,
  name: 'style' | 'colour' | 'evalC',
  labels: Int32Array,
  aug: AugmentOptions,
  p: ClassifierPhase,
): Promise<Record<string, number>> {
  const { ds } = ctx;
  const net = ctx.nets[name];
  const n = Math.max(...Array.from(labels)) + 1;
  const nOut = net.outputShape[0];
  const opt = tf.train.adam(p.lr);
  const r = await runPhase(ctx, name, phaseSteps(ctx, p.steps), { [name]: opt }, async (_s, rng) => {
    const idx = sampleIndices(ds.train, p.batch, rng);
    const x = imageBatch(ds, idx, aug, rng);
    const y = oneHot(pick(labels, idx), Math.max(n, nOut));
    const c = opt.minimize(
      () => tf.add(softmaxCE(net.apply(x, { train: true }).output, y), l2Penalty(net, p.l2)) as tf.Scalar,
      true,
      net.trainableVariables,
    );
    const ce = (c!.dataSync() as Float32Array)[0];
    tf.dispose([c!, x, y]);
    return { ce };
  });
  opt.dispose();
  const testAcc = await accuracy(net, ds, lim(ctx, ds.test), labels);
  const trainAcc = await accuracy(net, ds, lim(ctx, ds.train), labels);
  ctx.log(
    `[train] ${name}: ${r.msPerStep.toFixed(0)} ms/step, train acc ${(trainAcc * 100).toFixed(1)} %, held-out acc ${(testAcc * 100).toFixed(1)} %`,
  );
  return { msPerStep: r.msPerStep, seconds: r.seconds, trainAccuracy: trainAcc, testAccuracy: testAcc };
}

async function trainFastMlp(ctx: Ctx): Promise<Record<string, number>> {
  const { ds, cfg } = ctx;
  const { E, fastMlp } = ctx.nets;
  const p = cfg.phases.fastMlp;
  const opt = tf.train.adam(p.lr);
  const C = ds.classNames.length;
  const r = await runPhase(ctx, 'fastMlp', phaseSteps(ctx, p.steps), { fastMlp: opt }, async (_s, rng) => {
    const idx = sampleIndices(ds.train, p.batch, rng);
    const x = imageBatch(ds, idx, cfg.augment, rng);
    const h = tf.tidy(() => E.apply(x, { taps: ['code'], tapsOnly: true }).taps.code);
    const y = oneHot(pick(ds.cls, idx), C);
    const c = opt.minimize(
      () => tf.add(softmaxCE(fastMlp.apply(h, { train: true }).output, y), l2Penalty(fastMlp, p.l2)) as tf.Scalar,
      true,
      fastMlp.trainableVariables,
    );
    const ce = (c!.dataSync() as Float32Array)[0];
    tf.dispose([c!, x, h, y]);
    return { ce };
  });
  opt.dispose();
  const testIdx = lim(ctx, ds.test);
  const hs = await codes(ctx, testIdx);
  let ok = 0;
  if (hs.length) {
    const t = tf.tidy(() => fastMlp.apply(tf.tensor2d(concat(hs), [hs.length, hs[0].length])).output);
    const d = (await t.data()) as Float32Array;
    t.dispose();
    hs.forEach((_, i) => (ok += argmax(d.subarray(i * C, (i + 1) * C)) === ds.cls[testIdx[i]] ? 1 : 0));
  }
  const testAcc = hs.length ? ok / hs.length : NaN;
  ctx.log(`[train] fastMlp: ${r.msPerStep.toFixed(0)} ms/step, held-out acc on codes ${(testAcc * 100).toFixed(1)} %`);
  return { msPerStep: r.msPerStep, seconds: r.seconds, testAccuracy: testAcc };
}

async function trainHdae(ctx: Ctx, stats: CodeStats): Promise<Record<string, number>> {
  const { ds, cfg } = ctx;
  const { E, hdae } = ctx.nets;
  const p = cfg.phases.hdae;
  const sigma = p.noise * stats.meanPositive;
  const opt = tf.train.adam(p.lr);
  const r = await runPhase(ctx, 'hdae', phaseSteps(ctx, p.steps), { hdae: opt }, async (_s, rng) => {
    const idx = sampleIndices(ds.train, p.batch, rng);
    const x = imageBatch(ds, idx, cfg.augment, rng);
    const h = tf.tidy(() => E.apply(x, { taps: ['code'], tapsOnly: true }).taps.code);
    const noise = tf.tensor(rng.normals(new Float32Array(h.size), sigma), h.shape);
    const c = opt.minimize(
      () => tf.add(mse(hdae.apply(tf.add(h, noise), { train: true }).output, h), l2Penalty(hdae, p.l2)) as tf.Scalar,
      true,
      hdae.trainableVariables,
    );
    const l = (c!.dataSync() as Float32Array)[0];
    tf.dispose([c!, x, h, noise]);
    return { mse: l };
  });
  opt.dispose();
  // held-out denoising: mse(R(h + n), h) vs mse(h + n, h)
  const hs = await codes(ctx, lim(ctx, ds.test));
  let gain = NaN;
  let outMse = NaN;
  if (hs.length) {
    const D = hs[0].length;
    const rng = new Rng(ctx.seed + 404);
    const res = tf.tidy(() => {
      const h = tf.tensor2d(concat(hs), [hs.length, D]);
      const nz = tf.tensor2d(rng.normals(new Float32Array(hs.length * D), sigma), [hs.length, D]);
      const noisy = tf.add(h, nz);
      return tf.stack([mse(hdae.apply(noisy).output, h), mse(noisy, h)]);
    });
    const [a, b] = (await res.data()) as Float32Array;
    res.dispose();
    outMse = a;
    gain = b / a;
  }
  ctx.log(
    `[train] hdae: ${r.msPerStep.toFixed(0)} ms/step, held-out mse ${outMse.toFixed(4)} (σ=${sigma.toFixed(3)}, noise mse / output mse = ${gain.toFixed(2)})`,
  );
  return { msPerStep: r.msPerStep, seconds: r.seconds, sigma, testMse: outMse, denoiseGain: gain };
}

// ---------------------------------------------------------------------------------------------

export function sizesOf(ds: Dataset): Sizes {
  return {
    image: [ds.size, ds.size, 3],
    classes: ds.classNames.length,
    keywords: ds.vocab.length,
    vendors: ds.vendorNames.length,
    colours: ds.colourNames.length,
  };
}

export function buildNets(specs: NetSpecs, seed: number): Record<keyof NetSpecs, Net> {
  const out = {} as Record<keyof NetSpecs, Net>;
  for (const k of Object.keys(specs) as (keyof NetSpecs)[])
    out[k] = new Net(specs[k] as NetSpec, { seed: seed * 1000 + NET_SEED[k] });
  // G's output layer starts near zero: with dense layers, init noise in directions the data never excites would
  // otherwise survive training and show up as per-pixel speckle once the sampler moves h off the data codes
  const rgb = out.G.variables['rgb/kernel'];
  if (rgb) out.G.setWeights({ 'rgb/kernel': (rgb.dataSync() as Float32Array).map((v) => v * 0.1) });
  return out;
}

export async function train(o: TrainOptions): Promise<TrainSummary> {
  const cfg = o.config;
  const seed = o.seed ?? 1;
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const t0 = performance.now();
  const be = await initBackend((o.backend ?? process.env.PPGN_BACKEND ?? cfg.backend) as 'auto', { log });
  installFastMatMulGrad();
  const ds =
    o.dataset ??
    (o.datasetFile
      ? await readDatasetFile(o.datasetFile, log)
      : await loadDataset(ensureDataPackages(o.dataDir ?? defaultDataDir(), log), cfg.data, log));
  if (ds.size !== cfg.data.size)
    throw new Error(
      `the dataset has ${ds.size}×${ds.size} images but config ${cfg.name} trains on ${cfg.data.size}×${cfg.data.size}`,
    );
  const root = repoRoot();
  const runDir =
    o.runDir ?? path.join(root, '.cache', 'train-runs', `${cfg.name}-s${seed}${o.steps ? `-n${o.steps}` : ''}`);
  const packDir = o.out ?? path.join(root, 'models', cfg.packName);
  let state = o.resume ? await readState(runDir) : undefined;
  if (state && (state.config !== cfg.name || state.seed !== seed))
    throw new Error(
      `run ${runDir} was started with config ${state.config} seed ${state.seed}; cannot resume with ${cfg.name} seed ${seed}`,
    );
  if (!state) {
    if (existsSync(runDir)) await fs.rm(runDir, { recursive: true, force: true });
    state = {
      config: cfg.name,
      seed,
      steps: o.steps,
      started: new Date().toISOString(),
      phases: {},
      extra: { command: o.command },
    };
    await writeState(runDir, state);
  } else log(`[train] resuming run ${path.relative(process.cwd(), runDir)}`);
  const specs = cfg.nets(sizesOf(ds));
  const nets = buildNets(specs, seed);
  const ctx: Ctx = {
    cfg,
    ds,
    nets,
    seed,
    runDir,
    state,
    steps: o.steps,
    log,
    progress: o.progress ?? true,
    evalLimit: o.evalLimit,
  };
  const stats = datasetStats(ds);
  log(
    `[train] config ${cfg.name}, seed ${seed}, backend ${be.backend}, ${ds.n} images (${ds.train.length} train / ${ds.test.length} held-out), ${ds.classNames.length} classes, ${ds.vocab.length} keywords`,
  );
  log(
    `[train] parameters: ${Object.entries(nets)
      .map(([k, n]) => `${k} ${(n.paramCount / 1e6).toFixed(2)}M`)
      .join(', ')}`,
  );
  const netsDir = path.join(runDir, 'nets');
  let codeStatsV = state.extra.codeStats as CodeStats | undefined;
  for (const phase of PHASES) {
    const ps = state.phases[phase];
    if (ps?.done) {
      for (const k of PHASE_NETS[phase]) await loadNetInto(netsDir, k, nets[k]);
      log(`[train] ${phase}: done in a previous run (${fmtTime(ps.seconds)}), loaded`);
      continue;
    }
    let m: Record<string, number>;
    switch (phase) {
      case 'E':
        m = await trainE(ctx);
        break;
      case 'G':
        m = await trainG(ctx);
        break;
      case 'fastMlp':
        m = await trainFastMlp(ctx);
        break;
      case 'hdae':
        m = await trainHdae(ctx, codeStatsV!);
        break;
      case 'style':
        m = await trainImageClassifier(ctx, 'style', ds.vendor, cfg.augment, cfg.phases.style);
        break;
      case 'colour':
        m = await trainImageClassifier(ctx, 'colour', ds.colour, { ...cfg.augment, jitter: 0 }, cfg.phases.colour);
        break;
      case 'evalC':
        m = await trainImageClassifier(ctx, 'evalC', ds.cls, cfg.augment, cfg.phases.evalC);
        break;
    }
    for (const k of PHASE_NETS[phase]) await saveNet(netsDir, k, nets[k]);
    const { seconds, msPerStep, ...metrics } = m;
    state.phases[phase] = {
      done: true,
      step: phaseSteps(ctx, (cfg.phases[phase] as { steps: number }).steps),
      seconds,
      msPerStep,
      metrics,
    };
    if (phase === 'E') {
      codeStatsV = await codeStats(ctx);
      state.extra.codeStats = codeStatsV;
      log(
        `[train] code h: mean ${codeStatsV.mean.toFixed(3)}, std ${codeStatsV.std.toFixed(3)}, max ${codeStatsV.max.toFixed(2)}, p99.9 ${codeStatsV.p999.toFixed(2)}, zeros ${(codeStatsV.zeroFraction * 100).toFixed(0)} %`,
      );
    }
    await writeState(runDir, state);
    await fs.rm(path.join(runDir, 'ckpt', phase), { recursive: true, force: true });
  }
  if (!codeStatsV) codeStatsV = await codeStats(ctx);
  const seconds = (performance.now() - t0) / 1000;
  const totalTrainSeconds = Object.values(state.phases).reduce((a, p) => a + p.seconds, 0);
  const packBytes = await exportPack(packDir, {
    cfg,
    ds,
    nets,
    codeStats: codeStatsV,
    seed,
    training: {
      // the command that trained the networks (a later --resume only re-exports finished phases)
      command:
        (state.extra.command as string | undefined) ??
        o.command ??
        `npm run train -- --config ${cfg.name} --seed ${seed}`,
      backend: be.backend,
      hardware: `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.arch()}, Node ${process.versions.node}`,
      trainSeconds: Math.round(totalTrainSeconds),
      steps: o.steps,
      phases: state.phases,
      gLoss: {
        wImg: cfg.phases.G.wImg,
        wFeat: cfg.phases.G.wFeat,
        wGan: cfg.phases.G.wGan,
        lrG: cfg.phases.G.lrG,
        lrD: cfg.phases.G.lrD,
        batch: cfg.phases.G.batch,
      },
      augment: cfg.augment,
      date: new Date().toISOString().slice(0, 10),
    },
  });
  const summary: TrainSummary = {
    config: cfg.name,
    pack: path.basename(packDir),
    packDir,
    runDir,
    seed,
    backend: be.backend,
    seconds: Math.round(seconds),
    phases: state.phases,
    params: Object.fromEntries(Object.entries(nets).map(([k, n]) => [k, n.paramCount])),
    packBytes,
    dataset: stats,
  };
  await fs.writeFile(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 1));
  for (const n of Object.values(nets)) n.dispose();
  return summary;
}
