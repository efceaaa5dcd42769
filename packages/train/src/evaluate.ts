/**
 * Evaluation of a trained pack with the studio's own sampler (@ppgn/core on TensorFlow.js): a held-out
 * classifier (eval/evalC, never used for steering) measures real held-out images, reconstructions G(E(x)),
 * PPGN / DGN-AM / fast-mode samples and inpainting; within-class MS-SSIM (mean and max over chain pairs)
 * measures diversity; a Fréchet distance in the held-out classifier's feature space compares samples with
 * real images. Contact sheets go to docs/img.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  createChain,
  stepBatch,
  renderChains,
  renderCodes,
  cond,
  contactSheet,
  encodePng,
  Rng,
  tf,
  type Pack,
  type Net,
  type SamplerConfigInput,
  type ChainState,
  fillUnknown,
  FILL_METHODS,
  type FillMethod,
} from '@ppgn/core';
import { loadPack, loadNet } from '@ppgn/core/node';
import { loadDataset, datasetStats, type Dataset, type DatasetOptions } from './data/dataset';
import { meanPairwiseMsssim, msssim } from './msssim';
import { frechetDistance } from './frechet';
import { meanSharpness } from './sharpness';
import { renderModelCard, targetSummary, inpaintStartWords } from './model-card';
import { Progress } from './progress';
import { concat, dirBytes } from './util';

export const EVAL_DIR = 'eval';
export const EVAL_NET = 'evalC';
/** the card's inpainting protocol: this many held-out images per class (fewer where a class has fewer) */
export const INPAINT_PER_CLASS = 24;
export type EvalMode = 'ppgn' | 'dgnam' | 'fast';

export interface EvalOptions {
  packDir: string;
  dataDir: string;
  chains: number;
  steps: number;
  /** where contact sheets go (docs/img) */
  imgDir?: string;
  /** sampler overrides per mode (tuning) */
  config?: Partial<Record<EvalMode | 'context', SamplerConfigInput>>;
  /** only these classes (default all) */
  classes?: string[];
  seed?: number;
  log?: (m: string) => void;
  /** write eval/metrics.json and refresh MODEL_CARD.md */
  writeCard?: boolean;
  progress?: boolean;
  /** modes to sample (default ppgn, dgnam, fast) */
  modes?: EvalMode[];
  /**
   * held-out images per class for the inpainting test (0 = skip; default 24: all held-out images of the smaller classes,
   * 555 in all for emoji64 — at 6 per class, 174 images, one standard error was ≈ 0.06 × real, as large as the
   * differences between packs it had to decide)
   */
  inpaint?: number;
  /** inpainting steps (default: the pack's context steps) */
  inpaintSteps?: number;
  /**
   * where inpainting chains start: E(known half + the unknown half filled with the known pixels' mean colour) by
   * default (`INPAINT_START`, the start of the paper's released inpainting script), a random code, or E(known half +
   * another fill)
   */
  inpaintStart?: InpaintStart;
  /** metrics JSON of an earlier run (e.g. another process on the other core) whose modes are kept */
  reuse?: Record<string, unknown>;
}

export function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

/** rows of a net's output (or a tap) for images [N][H·W·C] */
export async function predictRows(
  net: Net,
  images: Float32Array[],
  shape: [number, number, number],
  tap?: string,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const [H, W, C] = shape;
  for (let s = 0; s < images.length; s += 128) {
    const part = images.slice(s, s + 128);
    const t = tf.tidy(() => {
      const x = tf.tensor4d(concat(part), [part.length, H, W, C]);
      const r = tap ? net.apply(x, { taps: [tap], tapsOnly: true }).taps[tap] : net.apply(x).output;
      return tf.reshape(r, [part.length, -1]);
    });
    const d = (await t.data()) as Float32Array;
    const n = t.shape[1]!;
    t.dispose();
    for (let i = 0; i < part.length; i++) out.push(d.slice(i * n, (i + 1) * n));
  }
  return out;
}

/** class predictions of a classifier */
export async function classify(
  net: Net,
  images: Float32Array[],
  shape: [number, number, number],
  tap?: string,
): Promise<number[]> {
  return (await predictRows(net, images, shape, tap)).map(argmax);
}

function upscale(
  img: Float32Array,
  H: number,
  W: number,
  f: number,
): { shape: [number, number, number]; data: Float32Array } {
  if (f === 1) return { shape: [H, W, 3], data: img };
  const out = new Float32Array(H * f * W * f * 3);
  for (let y = 0; y < H * f; y++)
    for (let x = 0; x < W * f; x++)
      for (let k = 0; k < 3; k++)
        out[(y * W * f + x) * 3 + k] = img[(Math.floor(y / f) * W + Math.floor(x / f)) * 3 + k];
  return { shape: [H * f, W * f, 3], data: out };
}

/** one row per class */
export async function writeSheet(
  file: string,
  rows: Float32Array[][],
  H: number,
  W: number,
  cols: number,
): Promise<void> {
  const f = H <= 32 ? 2 : 1;
  const blank = new Float32Array(H * W * 3).fill(1);
  const cells: { shape: number[]; data: Float32Array }[] = [];
  for (const r of rows) for (let j = 0; j < cols; j++) cells.push(upscale(r[j] ?? blank, H, W, f));
  const sheet = contactSheet(cells, { cols, pad: 2, background: 0.85 });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, encodePng(sheet));
}

/** max MS-SSIM over all pairs (how close the two most similar chains came) */
export function maxPairwiseMsssim(images: Float32Array[], H: number, W: number): number {
  let m = -Infinity;
  for (let i = 0; i < images.length; i++)
    for (let j = i + 1; j < images.length; j++) m = Math.max(m, msssim(images[i], images[j], H, W));
  return m;
}

export interface ModeResult {
  classAccuracy: number;
  msssim: number;
  maxMsssim: number;
  perClass: Record<string, { accuracy: number; msssim: number; maxMsssim: number; pE: number }>;
  images: Float32Array[][];
  seconds: number;
  chainSteps: number;
}

/** `chains` chains per class for `steps` steps from random codes; all classes' chains advance in one batch */
export async function sampleClasses(
  pack: Pack,
  evalNet: Net,
  labels: string[],
  o: { chains: number; steps: number; mode: EvalMode; config?: SamplerConfigInput; seed: number; progress?: boolean },
): Promise<ModeResult> {
  const t0 = performance.now();
  const [H, W, C] = pack.imageShape;
  const chains: ChainState[] = [];
  const allLabels = (pack.manifest.conditions.find((c) => c.id === 'class') as { labels: string[] }).labels;
  for (const label of labels) {
    const ci = allLabels.indexOf(label);
    for (let j = 0; j < o.chains; j++)
      chains.push(
        await createChain(pack, {
          id: `${label}#${j}`,
          seed: o.seed * 100003 + ci * 1009 + j,
          condition: cond.class(label),
          config: { ...(o.config ?? {}), mode: o.mode, steps: o.config?.steps ?? o.steps },
        }),
      );
  }
  const prog = new Progress(`sample ${o.mode}`, o.steps, 0, o.progress ?? true);
  let last: Awaited<ReturnType<typeof stepBatch>> = [];
  for (let s = 0; s < o.steps; s++) {
    last = await stepBatch(pack, chains);
    const mean = last.reduce((a, r) => a + (r.pTarget ?? 0), 0) / last.length;
    prog.update(s + 1, { pE: mean });
  }
  const imgs = await renderChains(pack, chains);
  const preds = await classify(evalNet, imgs, [H, W, C]);
  const perClass: ModeResult['perClass'] = {};
  const images: Float32Array[][] = [];
  let ok = 0;
  labels.forEach((label, li) => {
    const ci = allLabels.indexOf(label);
    const sl = imgs.slice(li * o.chains, (li + 1) * o.chains);
    const pr = preds.slice(li * o.chains, (li + 1) * o.chains);
    const hits = pr.filter((p) => p === ci).length;
    ok += hits;
    const pE = last.slice(li * o.chains, (li + 1) * o.chains).reduce((a, r) => a + (r.pTarget ?? 0), 0) / o.chains;
    perClass[label] = {
      accuracy: hits / o.chains,
      msssim: meanPairwiseMsssim(sl, H, W),
      maxMsssim: maxPairwiseMsssim(sl, H, W),
      pE,
    };
    images.push(sl);
  });
  const vals = Object.values(perClass);
  const mean = (xs: number[]) =>
    xs.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, xs.filter(Number.isFinite).length);
  return {
    classAccuracy: ok / preds.length,
    msssim: mean(vals.map((v) => v.msssim)),
    maxMsssim: Math.max(...vals.map((v) => v.maxMsssim).filter(Number.isFinite)),
    perClass,
    images,
    seconds: (performance.now() - t0) / 1000,
    chainSteps: chains.length * o.steps,
  };
}

/** where an inpainting chain starts: a random code, or E(the known pixels with the rest filled by a `FillMethod`) */
export type InpaintStart = 'random' | FillMethod;
export const INPAINT_STARTS: readonly InpaintStart[] = ['random', ...FILL_METHODS];
/**
 * The protocol's start (the card's numbers): E of the picture with its unknown part painted one flat colour. The
 * paper's released inpainting script starts the same way (the code of the masked picture, the masked pixels at the
 * dataset's mean); rooms never inpaint from a random code either (a painted mask keeps the chain where it is). Every
 * evaluation before session 20 (emoji64 1.4.0's first included) started from a random code (`random`), which the card
 * says when it compares with one.
 */
export const INPAINT_START: InpaintStart = 'mean';

export interface InpaintResult {
  accuracy: number;
  knownMse: number;
  unknownMse: number;
  n: number;
  rows: Float32Array[][];
  seconds: number;
}

/**
 * Inpainting: the left half of held-out images is the known context (mask = 1), the chain fills the rest from
 * `start` (default `INPAINT_START`) with the context term alone (no class given); the filled picture is classified, and G(h) is
 * compared with the original on the known half (does it keep it?) and on the unknown half.
 */
export async function inpaintEval(
  pack: Pack,
  evalNet: Net,
  ds: Dataset,
  labels: string[],
  o: {
    perClass: number;
    steps?: number;
    config?: SamplerConfigInput;
    seed: number;
    progress?: boolean;
    start?: InpaintStart;
  },
): Promise<InpaintResult> {
  const t0 = performance.now();
  const [H, W, C] = pack.imageShape;
  const n = H * W * C;
  const mask = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W / 2; x++) mask[y * W + x] = 1;
  const picks: number[] = [];
  for (const label of labels) {
    const ci = ds.classNames.indexOf(label);
    picks.push(
      ...Array.from(ds.test)
        .filter((i) => ds.cls[i] === ci)
        .slice(0, o.perClass),
    );
  }
  const start = o.start ?? INPAINT_START;
  const chains: ChainState[] = [];
  for (const [k, i] of picks.entries()) {
    const image = ds.images.slice(i * n, (i + 1) * n);
    chains.push(
      await createChain(pack, {
        id: `inpaint#${k}`,
        seed: o.seed * 7001 + k,
        condition: cond.context({ shape: [H, W, C], data: image }, { shape: [H, W], data: mask }),
        config: { ...(o.config ?? {}), mode: 'ppgn', ...(o.steps ? { steps: o.steps } : {}) },
        ...(start !== 'random'
          ? { image: { shape: [H, W, C], data: fillUnknown(image, mask, [H, W, C], start) } }
          : {}),
      }),
    );
  }
  const steps = o.steps ?? chains[0]?.config.steps ?? 100;
  const prog = new Progress('inpaint', steps, 0, o.progress ?? true);
  for (let s = 0; s < steps; s++) {
    await stepBatch(pack, chains);
    prog.update(s + 1, {});
  }
  const filled = await renderChains(pack, chains);
  const raw = await renderCodes(
    pack,
    chains.map((c) => c.h),
  );
  const preds = await classify(evalNet, filled, [H, W, C]);
  let ok = 0;
  let known = 0;
  let unknown = 0;
  let nk = 0;
  let nu = 0;
  const rows: Float32Array[][] = [];
  picks.forEach((i, k) => {
    if (preds[k] === ds.cls[i]) ok++;
    const orig = ds.images.subarray(i * n, (i + 1) * n);
    for (let p = 0; p < H * W; p++)
      for (let c = 0; c < C; c++) {
        const d = (raw[k][p * C + c] - orig[p * C + c]) ** 2;
        if (mask[p]) {
          known += d;
          nk++;
        } else {
          unknown += d;
          nu++;
        }
      }
    const li = Math.floor(k / Math.max(1, o.perClass));
    if (k % o.perClass < 2) {
      rows[li] ??= [];
      const masked = Float32Array.from(orig, (v, j) => (mask[Math.floor(j / C)] ? v : 0.5));
      rows[li].push(masked, filled[k], orig.slice());
    }
  });
  return {
    accuracy: ok / Math.max(1, picks.length),
    knownMse: known / Math.max(1, nk),
    unknownMse: unknown / Math.max(1, nu),
    n: picks.length,
    rows: rows.filter(Boolean),
    seconds: (performance.now() - t0) / 1000,
  };
}

function pickPerClass(ds: Dataset, pool: ArrayLike<number>, labels: string[], k: number, rng: Rng): number[][] {
  return labels.map((label) => {
    const ci = ds.classNames.indexOf(label);
    const p = Array.from(pool).filter((i) => ds.cls[i] === ci);
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p.slice(0, k);
  });
}

export async function evaluatePack(o: EvalOptions): Promise<Record<string, unknown>> {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const t0 = performance.now();
  const pack = await loadPack(o.packDir);
  const name = pack.manifest.name;
  const evalFile = path.join(o.packDir, EVAL_DIR, `${EVAL_NET}.net.json`);
  if (!existsSync(evalFile)) throw new Error(`${evalFile} not found: the pack has no held-out evaluation classifier`);
  const evalNet = await loadNet(evalFile);
  const featTap = evalNet.tapNames.includes('features') ? 'features' : undefined;
  const dsOpts = (pack.manifest.training as { dataset?: DatasetOptions } | undefined)?.dataset;
  if (!dsOpts) throw new Error(`${name}: manifest.training.dataset is missing (cannot rebuild the held-out split)`);
  const ds: Dataset = await loadDataset(o.dataDir, dsOpts, log);
  const [H, W] = pack.imageShape;
  const shape = pack.imageShape;
  const S = ds.size;
  const n = S * S * 3;
  const seed = o.seed ?? 1;
  const labels = o.classes ?? ds.classNames;
  for (const l of labels)
    if (!ds.classNames.includes(l)) throw new Error(`unknown class "${l}" (classes: ${ds.classNames.join(', ')})`);
  const labelSet = new Set(labels.map((l) => ds.classNames.indexOf(l)));
  const testIdx = Array.from(ds.test).filter((i) => labelSet.has(ds.cls[i]));
  const trainIdx = Array.from(ds.train).filter((i) => labelSet.has(ds.cls[i]));
  const imgOf = (i: number) => ds.images.slice(i * n, (i + 1) * n);
  const testImgs = testIdx.map(imgOf);

  // real held-out images and their reconstructions G(E(x))
  const accOf = (preds: number[], idx: number[]) =>
    preds.filter((p, k) => p === ds.cls[idx[k]]).length / Math.max(1, idx.length);
  const realAcc = accOf(await classify(evalNet, testImgs, shape), testIdx);
  const classOut = (
    pack.manifest.conditions.find((c) => c.id === 'class' && c.kind === 'classes') as { output?: string } | undefined
  )?.output;
  const eAcc = accOf(await classify(pack.E, testImgs, shape, classOut), testIdx);
  const codes = await predictRows(pack.E, testImgs, shape, pack.manifest.code.encoderTap);
  const recons = await renderCodes(pack, codes);
  const reconAcc = accOf(await classify(evalNet, recons, shape), testIdx);
  let se = 0;
  recons.forEach((r, k) => r.forEach((v, j) => (se += (v - testImgs[k][j]) ** 2)));
  const reconMse = se / Math.max(1, recons.length * n);
  // sharpness (variance of the Laplacian of the grey image) of real held-out pictures and of their reconstructions
  const range = pack.manifest.image.range;
  const sharpOf = (imgs: Float32Array[]) => meanSharpness(imgs, H, W, shape[2], range);
  const realSharp = sharpOf(testImgs);
  const reconSharp = sharpOf(recons);
  log(
    `[eval] ${name}: sharpness (Laplacian variance) real ${realSharp.toFixed(4)}, G(E(x)) ${reconSharp.toFixed(4)} (${(reconSharp / realSharp).toFixed(2)} × real)`,
  );
  log(
    `[eval] ${name}: held-out accuracy (eval classifier) ${(realAcc * 100).toFixed(1)} %, on G(E(x)) ${(reconAcc * 100).toFixed(1)} %, E ${(eAcc * 100).toFixed(1)} %, recon mse ${reconMse.toFixed(4)}`,
  );

  // real-image diversity: the same number of held-out images per class as chains (all images when fewer)
  const rng = new Rng(seed + 77);
  const realRows = pickPerClass(ds, ds.test, labels, o.chains, rng).map((r) => r.map(imgOf));
  const realMs = realRows.map((imgs) => meanPairwiseMsssim(imgs, H, W));
  const realMsssim =
    realMs.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, realMs.filter(Number.isFinite).length);

  // Fréchet distance reference: real train vs real held-out, in the eval classifier's feature space
  const testFeat = featTap ? await predictRows(evalNet, testImgs, shape, featTap) : [];
  const fdToTest = async (imgs: Float32Array[]) =>
    featTap ? frechetDistance(await predictRows(evalNet, imgs, shape, featTap), testFeat) : NaN;
  const trainPick = pickPerClass(
    ds,
    trainIdx,
    labels,
    Math.max(o.chains, Math.ceil(testIdx.length / labels.length)),
    new Rng(seed + 5),
  ).flat();
  const fdReal = await fdToTest(trainPick.map(imgOf));
  // the Fréchet distance is biased upwards for small sets: real train pictures, as many per class as there are
  // chains, show what a sampler that drew real pictures would score with this many samples
  const trainSame = pickPerClass(ds, trainIdx, labels, o.chains, new Rng(seed + 6)).flat();
  const fdRealSame = await fdToTest(trainSame.map(imgOf));

  const cols = Math.min(o.chains, 10);
  const sheets: string[] = [];
  const modes = o.modes ?? ['ppgn', 'dgnam', 'fast'];
  const results: Partial<Record<EvalMode, ModeResult & { fd: number; sharp: number }>> = {};
  for (const mode of modes) {
    if (mode === 'fast' && !pack.fastMlp) continue;
    const r = await sampleClasses(pack, evalNet, labels, {
      chains: o.chains,
      steps: o.steps,
      mode,
      config: o.config?.[mode],
      seed,
      progress: o.progress,
    });
    const fd = await fdToTest(r.images.flat());
    const sharp = sharpOf(r.images.flat());
    results[mode] = { ...r, fd, sharp };
    log(
      `[eval] ${mode}: sample accuracy ${(r.classAccuracy * 100).toFixed(1)} % (${((r.classAccuracy / realAcc) * 100).toFixed(0)} % of real), MS-SSIM ${r.msssim.toFixed(3)} (real ${realMsssim.toFixed(3)}), max pair ${r.maxMsssim.toFixed(3)}, FD ${fd.toFixed(2)} (real train ${fdReal.toFixed(2)}; ${trainSame.length} of them ${fdRealSame.toFixed(2)}), sharpness ${(sharp / realSharp).toFixed(2)} × real, ${r.seconds.toFixed(0)} s`,
    );
    if (o.imgDir) {
      const f = path.join(o.imgDir, `${name}-${mode}.png`);
      await writeSheet(f, r.images, H, W, cols);
      sheets.push(f);
    }
  }
  let inp: InpaintResult | undefined;
  const perInpaint = o.inpaint ?? INPAINT_PER_CLASS;
  const inpaintStart = o.inpaintStart ?? INPAINT_START;
  if (perInpaint > 0) {
    inp = await inpaintEval(pack, evalNet, ds, labels, {
      perClass: perInpaint,
      steps: o.inpaintSteps,
      start: inpaintStart,
      config: o.config?.context,
      seed,
      progress: o.progress,
    });
    log(
      `[eval] inpainting (left half known, ${inp.n} held-out images, from ${inpaintStartWords(inpaintStart)}): accuracy ${(inp.accuracy * 100).toFixed(1)} % (${((inp.accuracy / realAcc) * 100).toFixed(0)} % of real), G(h) mse on the known half ${inp.knownMse.toFixed(4)}, unknown half ${inp.unknownMse.toFixed(4)}, ${inp.seconds.toFixed(0)} s`,
    );
    if (o.imgDir) {
      const f = path.join(o.imgDir, `${name}-inpaint.png`);
      await writeSheet(f, inp.rows, H, W, 6);
      sheets.push(f);
    }
  }
  if (o.imgDir) {
    const f = path.join(o.imgDir, `${name}-real.png`);
    await writeSheet(f, realRows, H, W, cols);
    sheets.push(f);
    // reconstructions of held-out images: pairs (real, G(E(real))) per class
    const recRows: Float32Array[][] = labels.map((label) => {
      const ci = ds.classNames.indexOf(label);
      const ks = testIdx
        .map((i, k) => (ds.cls[i] === ci ? k : -1))
        .filter((k) => k >= 0)
        .slice(0, Math.floor(cols / 2));
      return ks.flatMap((k) => [testImgs[k], recons[k]]);
    });
    const rf = path.join(o.imgDir, `${name}-recon.png`);
    await writeSheet(rf, recRows, H, W, Math.floor(cols / 2) * 2);
    sheets.push(rf);
  }
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  const ratio = (x: number | undefined) => (x === undefined ? null : round(x / realAcc));
  const modeOut = (m: EvalMode) => {
    const r = results[m];
    if (!r) return null;
    return {
      class_accuracy: round(r.classAccuracy),
      vs_real: ratio(r.classAccuracy),
      msssim: round(r.msssim),
      max_pair_msssim: round(r.maxMsssim),
      frechet: round(r.fd, 2),
      sharpness_vs_real: round(r.sharp / realSharp, 3),
      seconds: Math.round(r.seconds),
      chain_steps_per_s: round(r.chainSteps / r.seconds, 1),
    };
  };
  const out: Record<string, unknown> = {
    pack: name,
    pack_version: pack.manifest.version ?? null,
    chains: o.chains,
    steps: o.steps,
    classes: labels.length,
    test_images: testIdx.length,
    test_accuracy: round(realAcc),
    e_test_accuracy: round(eAcc),
    recon_accuracy: round(reconAcc),
    recon_vs_real: ratio(reconAcc),
    recon_mse: round(reconMse, 5),
    real_sharpness: round(realSharp, 5),
    recon_sharpness_vs_real: round(reconSharp / realSharp, 3),
    real_msssim: round(realMsssim),
    frechet_real_train_vs_test: round(fdReal, 2),
    frechet_real_at_sample_size: round(fdRealSame, 2),
    ppgn: modeOut('ppgn'),
    dgnam: modeOut('dgnam'),
    fast: modeOut('fast'),
    inpaint: inp
      ? {
          images: inp.n,
          class_accuracy: round(inp.accuracy),
          vs_real: ratio(inp.accuracy),
          known_half_mse: round(inp.knownMse, 5),
          unknown_half_mse: round(inp.unknownMse, 5),
          seconds: Math.round(inp.seconds),
        }
      : null,
    sampler: {
      ...Object.fromEntries(
        modes.map((m) => [
          m,
          {
            ...(m === 'ppgn' ? pack.manifest.defaults?.classes : pack.manifest.defaults?.[m]),
            ...(o.config?.[m] ?? {}),
          },
        ]),
      ),
      ...(inp
        ? {
            inpaint: {
              ...pack.manifest.defaults?.context,
              ...(o.config?.context ?? {}),
              start: inpaintStart,
            },
          }
        : {}),
    },
    per_class: Object.fromEntries(
      labels.map((l, i) => [
        l,
        {
          ppgn_acc: results.ppgn ? round(results.ppgn.perClass[l].accuracy) : null,
          ppgn_pE: results.ppgn ? round(results.ppgn.perClass[l].pE) : null,
          ppgn_msssim: results.ppgn ? round(results.ppgn.perClass[l].msssim) : null,
          ppgn_max_pair: results.ppgn ? round(results.ppgn.perClass[l].maxMsssim) : null,
          dgnam_acc: results.dgnam ? round(results.dgnam.perClass[l].accuracy) : null,
          fast_acc: results.fast ? round(results.fast.perClass[l].accuracy) : null,
          real_msssim: round(realMs[i]),
        },
      ]),
    ),
    contact_sheets: sheets.map(rel),
    contact_sheet_rows: labels,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  if (o.reuse) {
    const prev = o.reuse as Record<string, unknown> & {
      per_class?: Record<string, Record<string, unknown>>;
      contact_sheets?: string[];
    };
    for (const m of ['ppgn', 'dgnam', 'fast', 'inpaint'] as const) {
      if (out[m] !== null || prev[m] == null) continue;
      out[m] = prev[m];
      // the settings it ran with come along (for inpainting: its start, which the card compares)
      (out.sampler as Record<string, unknown>)[m] = (prev.sampler as Record<string, unknown> | undefined)?.[m];
      for (const [l, v] of Object.entries(prev.per_class ?? {})) {
        const pc = (out.per_class as Record<string, Record<string, unknown>>)[l];
        if (pc) for (const [k, x] of Object.entries(v)) if (k.startsWith(`${m}_`)) pc[k] = x;
      }
    }
    out.contact_sheets = [...new Set([...(out.contact_sheets as string[]), ...(prev.contact_sheets ?? [])])];
  }
  if (o.writeCard) {
    const evalDir = path.join(o.packDir, EVAL_DIR);
    const earlier = await fs
      .readFile(path.join(evalDir, 'metrics.json'), 'utf8')
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => null);
    const previous = previousMetrics(earlier, out.pack_version as string | null);
    if (previous) out.previous = previous;
    await fs.writeFile(path.join(evalDir, 'metrics.json'), JSON.stringify(out, null, 1) + '\n');
    await writeCard(o.packDir, pack, evalNet, ds, out);
  }
  pack.dispose();
  evalNet.dispose();
  return out;
}

/**
 * What the card shows as "before": the last evaluation of another pack version (an earlier metrics.json of the
 * same version passes on the "before" it had, so re-running the evaluation does not compare a version with itself).
 */
export function previousMetrics(
  earlier: Record<string, unknown> | null,
  version: string | null,
): Record<string, unknown> | null {
  if (!earlier) return null;
  if (earlier.pack_version !== undefined && earlier.pack_version === version)
    return (earlier.previous as Record<string, unknown> | undefined) ?? null;
  return targetSummary(earlier);
}

/** MODEL_CARD.md from the manifest, the dataset, the training report and the eval metrics */
export async function writeCard(
  packDir: string,
  pack: Pack,
  evalNet: Net,
  ds: Dataset,
  metrics?: Record<string, unknown>,
): Promise<void> {
  const params: Record<string, number> = {};
  for (const [k, nn] of Object.entries(pack.nets)) params[k] = nn.paramCount;
  params.evalC = evalNet.paramCount;
  const bytes = await dirBytes(packDir);
  const trainingFile = path.join(packDir, EVAL_DIR, 'training.json');
  const training = existsSync(trainingFile) ? JSON.parse(await fs.readFile(trainingFile, 'utf8')) : undefined;
  await fs.writeFile(
    path.join(packDir, 'MODEL_CARD.md'),
    renderModelCard({
      manifest: pack.manifest,
      stats: datasetStats(ds),
      params,
      bytes,
      metrics,
      training,
      // the metrics name the sheets relative to the evaluation's working directory
      sheets: ((metrics?.contact_sheets ?? []) as string[]).map((f) =>
        path.relative(packDir, path.resolve(f)).split(path.sep).join('/'),
      ),
    }),
  );
}

function round(x: number, d = 4): number {
  return Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x;
}
