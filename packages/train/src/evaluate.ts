/**
 * Evaluation of a trained pack: held-out classifier accuracy on real held-out images, reconstruction error,
 * class accuracy and within-class diversity (MS-SSIM) of PPGN and DGN-AM samples, and contact sheets.
 */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  loadPack,
  loadNet,
  createChain,
  stepBatch,
  renderChains,
  cond,
  contactSheet,
  encodePng,
  Rng,
  type Pack,
  type Net,
  type SamplerConfigInput,
  type ChainState,
} from '@ppgn/core';
import { tf } from './tf';
import { loadDataset, datasetStats, type Dataset, type DatasetOptions } from './data/dataset';
import { accuracy, reconMse, argmax } from './pipeline';
import { meanPairwiseMsssim } from './msssim';
import { EVAL_DIR, EVAL_NET } from './export';
import { renderModelCard } from './model-card';
import { Progress } from './progress';
import { concat, dirBytes } from './util';

export interface EvalOptions {
  packDir: string;
  dataDir: string;
  chains: number;
  steps: number;
  /** where contact sheets go (docs/img) */
  imgDir?: string;
  /** sampler overrides for the ppgn run (tuning) */
  config?: SamplerConfigInput;
  /** only these classes (default all) */
  classes?: string[];
  seed?: number;
  log?: (m: string) => void;
  /** write eval/metrics.json and refresh MODEL_CARD.md */
  writeCard?: boolean;
  progress?: boolean;
  /** modes to sample (default ppgn and dgnam) */
  modes?: ('ppgn' | 'dgnam')[];
}

/** images [N][H·W·C] → class predictions of a classifier */
export async function classify(net: Net, images: Float32Array[], shape: [number, number, number]): Promise<number[]> {
  const out: number[] = [];
  const [H, W, C] = shape;
  for (let s = 0; s < images.length; s += 256) {
    const part = images.slice(s, s + 256);
    const buf = new Float32Array(part.length * H * W * C);
    part.forEach((im, i) => buf.set(im, i * H * W * C));
    const t = tf.tidy(() => net.apply(tf.tensor4d(buf, [part.length, H, W, C])).output);
    const d = (await t.data()) as Float32Array;
    const n = t.shape[1]!;
    t.dispose();
    for (let i = 0; i < part.length; i++) out.push(argmax(d.subarray(i * n, (i + 1) * n)));
  }
  return out;
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

export interface ModeResult {
  classAccuracy: number;
  msssim: number;
  perClass: Record<string, { accuracy: number; msssim: number; pE: number }>;
  images: Float32Array[][];
  seconds: number;
}

/** `chains` chains per class for `steps` steps; all classes' chains advance in one batch */
export async function sampleClasses(
  pack: Pack,
  evalNet: Net,
  labels: string[],
  o: {
    chains: number;
    steps: number;
    mode: 'ppgn' | 'dgnam';
    config?: SamplerConfigInput;
    seed: number;
    progress?: boolean;
  },
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
          config: { ...(o.config ?? {}), mode: o.mode, steps: o.steps },
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
    const acc = pr.filter((p) => p === ci).length / o.chains;
    ok += pr.filter((p) => p === ci).length;
    const pE = last.slice(li * o.chains, (li + 1) * o.chains).reduce((a, r) => a + (r.pTarget ?? 0), 0) / o.chains;
    perClass[label] = { accuracy: acc, msssim: meanPairwiseMsssim(sl, H, W), pE };
    images.push(sl);
  });
  const ms = Object.values(perClass)
    .map((v) => v.msssim)
    .filter(Number.isFinite);
  return {
    classAccuracy: ok / preds.length,
    msssim: ms.reduce((a, b) => a + b, 0) / ms.length,
    perClass,
    images,
    seconds: (performance.now() - t0) / 1000,
  };
}

export async function evaluatePack(o: EvalOptions): Promise<Record<string, unknown>> {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const t0 = performance.now();
  const pack = await loadPack(o.packDir);
  const name = pack.manifest.name;
  const evalFile = path.join(o.packDir, EVAL_DIR, `${EVAL_NET}.net.json`);
  if (!existsSync(evalFile)) throw new Error(`${evalFile} not found: the pack has no held-out evaluation classifier`);
  const evalNet = await loadNet(evalFile);
  const dsOpts = (pack.manifest.training as { dataset?: DatasetOptions } | undefined)?.dataset;
  if (!dsOpts) throw new Error(`${name}: manifest.training.dataset is missing (cannot rebuild the held-out split)`);
  const ds: Dataset = await loadDataset(o.dataDir, dsOpts, log);
  const [H, W] = pack.imageShape;
  const seed = o.seed ?? 1;
  const labels = o.classes ?? ds.classNames;
  for (const l of labels)
    if (!ds.classNames.includes(l)) throw new Error(`unknown class "${l}" (classes: ${ds.classNames.join(', ')})`);

  const testAcc = await accuracy(evalNet, ds, ds.test, ds.cls);
  const eTestAcc = await accuracy(pack.E, ds, ds.test, ds.cls);
  const recon = await reconMse({ nets: { E: pack.E, G: pack.G }, ds }, ds.test);
  log(
    `[eval] ${name}: held-out accuracy (eval classifier) ${(testAcc * 100).toFixed(1)} %, E ${(eTestAcc * 100).toFixed(1)} %, recon mse ${recon.toFixed(4)}`,
  );

  // real-image diversity: the same number of images per class as chains, drawn from all images of the class
  const rng = new Rng(seed + 77);
  const S = ds.size;
  const n = S * S * 3;
  const realRows: Float32Array[][] = [];
  const realMs: number[] = [];
  for (const label of labels) {
    const ci = ds.classNames.indexOf(label);
    const pool = Array.from({ length: ds.n }, (_, i) => i).filter((i) => ds.cls[i] === ci);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const imgs = pool.slice(0, o.chains).map((i) => ds.images.slice(i * n, (i + 1) * n));
    realRows.push(imgs);
    realMs.push(meanPairwiseMsssim(imgs, H, W));
  }
  const realMsssim = realMs.reduce((a, b) => a + b, 0) / realMs.length;

  const imgDir = o.imgDir;
  const cols = Math.min(o.chains, 10);
  const sheets: string[] = [];
  const modes = o.modes ?? ['ppgn', 'dgnam'];
  const results: Partial<Record<'ppgn' | 'dgnam', ModeResult>> = {};
  for (const mode of modes) {
    const r = await sampleClasses(pack, evalNet, labels, {
      chains: o.chains,
      steps: o.steps,
      mode,
      config: mode === 'ppgn' ? o.config : { ...(o.config ?? {}), eps1: 0 },
      seed,
      progress: o.progress,
    });
    results[mode] = r;
    log(
      `[eval] ${mode}: sample class accuracy ${(r.classAccuracy * 100).toFixed(1)} %, MS-SSIM ${r.msssim.toFixed(3)} (real ${realMsssim.toFixed(3)}), ${r.seconds.toFixed(0)} s`,
    );
    if (imgDir) {
      const f = path.join(imgDir, `${name}-${mode}.png`);
      await writeSheet(f, r.images, H, W, cols);
      sheets.push(f);
    }
  }
  if (imgDir) {
    const f = path.join(imgDir, `${name}-real.png`);
    await writeSheet(f, realRows, H, W, cols);
    sheets.push(f);
    // reconstructions of held-out images: pairs (real, G(E(real))) per class
    const recRows: Float32Array[][] = [];
    for (const label of labels) {
      const ci = ds.classNames.indexOf(label);
      const idx = Array.from(ds.test)
        .filter((i) => ds.cls[i] === ci)
        .slice(0, Math.floor(cols / 2));
      const xs = idx.map((i) => ds.images.slice(i * n, (i + 1) * n));
      let recs: Float32Array[] = [];
      if (xs.length) {
        const t = tf.tidy(
          () =>
            pack.G.apply(
              pack.E.apply(tf.tensor4d(concat(xs), [xs.length, S, S, 3]), { taps: ['code'], tapsOnly: true }).taps.code,
            ).output,
        );
        const d = (await t.data()) as Float32Array;
        t.dispose();
        recs = xs.map((_, i) => d.slice(i * n, (i + 1) * n));
      }
      recRows.push(xs.flatMap((x, i) => [x, recs[i]]));
    }
    const rf = path.join(imgDir, `${name}-recon.png`);
    await writeSheet(rf, recRows, H, W, Math.floor(cols / 2) * 2);
    sheets.push(rf);
  }
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  const out: Record<string, unknown> = {
    pack: name,
    chains: o.chains,
    steps: o.steps,
    classes: labels.length,
    test_accuracy: round(testAcc),
    e_test_accuracy: round(eTestAcc),
    recon_mse: round(recon, 5),
    sample_class_accuracy: results.ppgn ? round(results.ppgn.classAccuracy) : null,
    sample_msssim: results.ppgn ? round(results.ppgn.msssim) : null,
    real_msssim: round(realMsssim),
    dgnam_sample_class_accuracy: results.dgnam ? round(results.dgnam.classAccuracy) : null,
    dgnam_sample_msssim: results.dgnam ? round(results.dgnam.msssim) : null,
    sampler: { ppgn: o.config ?? 'pack defaults', dgnam: 'pack defaults with eps1 = 0 (prior l2)' },
    per_class: Object.fromEntries(
      labels.map((l, i) => [
        l,
        {
          ppgn_acc: results.ppgn ? round(results.ppgn.perClass[l].accuracy) : null,
          ppgn_pE: results.ppgn ? round(results.ppgn.perClass[l].pE) : null,
          ppgn_msssim: results.ppgn ? round(results.ppgn.perClass[l].msssim) : null,
          dgnam_acc: results.dgnam ? round(results.dgnam.perClass[l].accuracy) : null,
          real_msssim: round(realMs[i]),
        },
      ]),
    ),
    contact_sheets: sheets.map(rel),
    contact_sheet_rows: labels,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  if (o.writeCard) {
    const evalDir = path.join(o.packDir, EVAL_DIR);
    await fs.writeFile(path.join(evalDir, 'metrics.json'), JSON.stringify(out, null, 1) + '\n');
    const params: Record<string, number> = {};
    for (const [k, nn] of Object.entries(pack.nets)) params[k] = nn.paramCount;
    params.evalC = evalNet.paramCount;
    const bytes = await dirBytes(o.packDir);
    const { per_class: _pc, contact_sheet_rows: _r, sampler: _s, ...flat } = out;
    await fs.writeFile(
      path.join(o.packDir, 'MODEL_CARD.md'),
      renderModelCard({ manifest: pack.manifest, stats: datasetStats(ds), params, bytes, metrics: flat }),
    );
  }
  pack.dispose();
  evalNet.dispose();
  return out;
}

function round(x: number, d = 4): number {
  return Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x;
}
