import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, installFastMatMulGrad, createChain, stepBatch, cond, tf } from '@ppgn/core';
import { loadNet, loadPack } from '@ppgn/core/node';
import {
  buildDataset,
  loadDataset,
  ensureDatasetFile,
  readDatasetFile,
  splitByIdentity,
  selectEntries,
  resolveOptions,
  type Dataset,
  type DatasetOptions,
} from '../src/data/dataset';
import { ensureDataPackages } from '../src/data/fetch';
import { coarseClassOf, CLASS_GROUPS, CLASS_NAMES, colourBin } from '../src/data/labels';
import { msssim, meanPairwiseMsssim } from '../src/msssim';
import { frechetDistance, symmetricEigenvalues } from '../src/frechet';
import { laplacianVariance, meanSharpness } from '../src/sharpness';
import { findPython, runTrainer, PythonMissingError, type PythonInfo } from '../src/python';
import { renderModelCard, protocolDifference } from '../src/model-card';
import { previousMetrics } from '../src/evaluate';
import { writeFixture, fixtureEntries, FIXTURE_CLASSES } from './fixture';

const TINY_DATA: DatasetOptions = {
  size: 8,
  vendors: ['google', 'twitter'],
  maxPerClass: 90,
  testFraction: 0.2,
  minKeywordCount: 2,
  maxKeywords: 20,
  seed: 1,
};

let tmp: string;
let ds: Dataset;
let py: PythonInfo;

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
  installFastMatMulGrad();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-train-'));
  writeFixture(tmp);
  ds = buildDataset(tmp, { ...TINY_DATA, classes: FIXTURE_CLASSES });
  py = findPython();
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('dataset', () => {
  it('caches the dataset as 8-bit images that read back (also from a bare file, as on a GPU host)', async () => {
    const opts = { ...TINY_DATA, classes: FIXTURE_CLASSES };
    const built = await loadDataset(tmp, opts);
    const dir = path.join(tmp, 'datasets');
    const bin = readdirSync(dir).find((f) => f.endsWith('.u8.bin'))!;
    expect(bin).toBeTruthy();
    const cached = await loadDataset(tmp, opts);
    const file = await readDatasetFile(path.join(dir, bin));
    for (const d of [cached, file]) {
      expect(d.n).toBe(built.n);
      expect(Array.from(d.cls)).toEqual(Array.from(built.cls));
      expect(Array.from(d.test)).toEqual(Array.from(built.test));
      let max = 0;
      for (let i = 0; i < d.images.length; i++) max = Math.max(max, Math.abs(d.images[i]! - built.images[i]!));
      expect(max).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    }
    await expect(readDatasetFile(path.join(dir, 'missing.u8.bin'))).rejects.toThrow(/expected a dataset cache file/);
  });

  it('maps subcategories to coarse classes and skips components', () => {
    expect(coarseClassOf('Smileys & Emotion', 'face-smiling')).toBe('faces-happy');
    expect(coarseClassOf('Flags', 'country-flag')).toBe('flags');
    expect(coarseClassOf('Component', 'skin-tone')).toBeNull();
    // visually coherent classes: emotion marks and body parts are left out, mixed groups are split
    expect(coarseClassOf('Smileys & Emotion', 'emotion')).toBeNull();
    expect(coarseClassOf('People & Body', 'body-parts')).toBeNull();
    expect(coarseClassOf('Travel & Places', 'time')).toBe('clocks');
    expect(coarseClassOf('Travel & Places', 'place-building')).not.toBe(
      coarseClassOf('Travel & Places', 'place-geographic'),
    );
    expect(new Set(Object.values(CLASS_GROUPS).flat()).size).toBe(Object.values(CLASS_GROUPS).flat().length);
    expect(CLASS_NAMES.length).toBeGreaterThanOrEqual(20);
  });

  it('splits by identity: no emoji in both train and test (synthetic emoji.json)', () => {
    const o = resolveOptions({ size: 8, classes: FIXTURE_CLASSES, testFraction: 0.3 });
    const sel = selectEntries(fixtureEntries(10), o, () => true);
    expect(sel.length).toBe(30);
    const split = splitByIdentity(
      sel.map((s) => ({ identity: s.entry.unified, cls: s.cls })),
      0.3,
      1,
    );
    for (const id of split.test) expect(split.train.has(id)).toBe(false);
    expect(split.test.size + split.train.size).toBe(30);
    expect(split.test.size).toBe(9); // 3 per class
    // deterministic for a seed, different for another
    const again = splitByIdentity(
      sel.map((s) => ({ identity: s.entry.unified, cls: s.cls })),
      0.3,
      1,
    );
    expect([...again.test].sort()).toEqual([...split.test].sort());
  });

  it('builds images from PNGs, both vendors of one emoji on the same side', () => {
    expect(ds.n).toBe(36);
    expect(ds.images.length).toBe(36 * 8 * 8 * 3);
    const trainIds = new Set(Array.from(ds.train, (i) => ds.identity[i]));
    const testIds = new Set(Array.from(ds.test, (i) => ds.identity[i]));
    for (const id of testIds) expect(trainIds.has(id)).toBe(false);
    expect(testIds.size).toBeGreaterThan(0);
    expect(ds.train.length + ds.test.length).toBe(ds.n);
    for (const v of ds.images) expect(v >= 0 && v <= 1).toBe(true);
    expect(ds.vocab).toContain('odd');
    expect(colourBin(1, 0.8, 0.1)).toBe(3); // yellow
    expect(colourBin(0.1, 0.3, 0.9)).toBe(5); // blue
  });

  it('a training-only art set adds drawings of training emoji only: the held-out pictures and the vocabulary stay', async () => {
    const base = { ...TINY_DATA, vendors: ['google' as const], classes: FIXTURE_CLASSES };
    const plain = buildDataset(tmp, base);
    const more = buildDataset(tmp, { ...base, trainOnlyVendors: ['twitter'] });
    const px = 8 * 8 * 3;
    // every picture of the plain set comes first, unchanged, with the same split
    expect(Array.from(more.images.subarray(0, plain.n * px))).toEqual(Array.from(plain.images));
    expect(Array.from(more.test)).toEqual(Array.from(plain.test));
    expect(more.vocab).toEqual(plain.vocab);
    expect(more.vendorNames).toEqual(['noto', 'twemoji']);
    // then one drawing in the other art set per training picture, none of a held-out emoji
    const trainIds = new Set(Array.from(plain.train, (i) => plain.identity[i]));
    expect(more.n).toBe(plain.n + plain.train.length);
    for (let i = plain.n; i < more.n; i++) {
      expect(more.vendor[i]).toBe(1);
      expect(trainIds.has(more.identity[i])).toBe(true);
      expect(Array.from(more.train)).toContain(i);
    }
    // (the fixture's second art set draws squares, not discs)
    expect(Array.from(more.images.subarray(plain.n * px, (plain.n + 1) * px))).not.toEqual(
      Array.from(more.images.subarray(0, px)),
    );
    // without training-only pictures, a dataset keeps the cache file it had before they existed
    const key = async (o: DatasetOptions) => path.basename(await ensureDatasetFile(tmp, o));
    expect(await key({ ...base, trainOnlyVendors: [] })).toBe(await key(base));
    expect(await key({ ...base, trainOnlyVendors: ['twitter'] })).not.toBe(await key(base));
  });

  it('installing a data package that is missing keeps the ones already installed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ppgn-data-pkgs-'));
    try {
      const local = (name: string) => {
        const d = path.join(dir, 'src', name);
        mkdirSync(d, { recursive: true });
        writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
        return `file:${d}`;
      };
      const a = { 'ppgn-fixture-a': local('ppgn-fixture-a') };
      const cache = path.join(dir, 'cache');
      ensureDataPackages(cache, () => {}, a, 'fixture a');
      expect(existsSync(path.join(cache, 'node_modules', 'ppgn-fixture-a', 'package.json'))).toBe(true);
      const lines: string[] = [];
      ensureDataPackages(cache, (m) => lines.push(m), { ...a, 'ppgn-fixture-b': local('ppgn-fixture-b') }, 'fixture b');
      expect(existsSync(path.join(cache, 'node_modules', 'ppgn-fixture-b', 'package.json'))).toBe(true);
      expect(existsSync(path.join(cache, 'node_modules', 'ppgn-fixture-a', 'package.json'))).toBe(true);
      // it says what was missing
      expect(lines[0]).toMatch(/ppgn-fixture-b/);
      expect(lines[0]).not.toMatch(/ppgn-fixture-a/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MS-SSIM', () => {
  it('is 1 for identical images and lower for different ones', () => {
    const S = 32;
    const a = new Float32Array(S * S * 3).map((_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const b = new Float32Array(S * S * 3).map((_, i) => (Math.cos(i * 0.11) + 1) / 2);
    const noisy = a.map((v, i) => Math.min(1, Math.max(0, v + 0.1 * Math.sin(i * 7.3))));
    expect(msssim(a, a, S, S)).toBeCloseTo(1, 6);
    const sAb = msssim(a, b, S, S);
    const sAn = msssim(a, noisy, S, S);
    expect(sAb).toBeLessThan(0.9);
    expect(sAn).toBeLessThan(1);
    expect(sAn).toBeGreaterThan(sAb);
    expect(meanPairwiseMsssim([a, a, a], S, S)).toBeCloseTo(1, 6);
    expect(meanPairwiseMsssim([a, b, noisy], S, S)).toBeLessThan(1);
  });
});

describe('Fréchet distance', () => {
  it('is 0 for one set, ‖Δμ‖² for a shift, and (σ₁ − σ₂)² in 1-D', () => {
    const rng = (s: number) => () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const r = rng(7);
    const a = Array.from({ length: 400 }, () => [r(), r(), r()]);
    expect(frechetDistance(a, a)).toBeCloseTo(0, 6);
    const shifted = a.map((v) => [v[0] + 2, v[1], v[2] - 1]);
    expect(frechetDistance(a, shifted)).toBeCloseTo(5, 6);
    const x = Array.from({ length: 500 }, () => [r()]);
    const y = x.map((v) => [v[0] * 3]);
    const sd = Math.sqrt(
      x.reduce((s, v) => s + v[0] ** 2, 0) / 499 - (x.reduce((s, v) => s + v[0], 0) / 500) ** 2 * (500 / 499),
    );
    // variances σ² and 9σ², means 0 and 0·3: FD = (σ − 3σ)² + (μ − 3μ)²
    const mu = x.reduce((s, v) => s + v[0], 0) / 500;
    expect(frechetDistance(x, y)).toBeCloseTo((2 * sd) ** 2 + (2 * mu) ** 2, 3);
    const e = symmetricEigenvalues(Float64Array.from([2, 1, 1, 2]), 2).values;
    expect([...e].sort()).toEqual([expect.closeTo(1, 9), expect.closeTo(3, 9)]);
  });
});

describe('sharpness (variance of the Laplacian of the grey image)', () => {
  const H = 8;
  const W = 8;
  const grey = (f: (y: number, x: number) => number) =>
    Float32Array.from({ length: H * W * 3 }, (_, k) => f(Math.floor(k / 3 / W), Math.floor(k / 3) % W));
  it('is 0 for flat and linear ramps, known for a checkerboard, and lower after a blur', () => {
    expect(
      laplacianVariance(
        grey(() => 0.4),
        H,
        W,
        3,
      ),
    ).toBeCloseTo(0, 12);
    expect(
      laplacianVariance(
        grey((y, x) => (x + 2 * y) / 30),
        H,
        W,
        3,
      ),
    ).toBeCloseTo(0, 12);
    // checkerboard 0/1: the Laplacian is −4 on white and +4 on black pixels, half each: variance 16
    const board = grey((y, x) => (x + y) % 2);
    expect(laplacianVariance(board, H, W, 3)).toBeCloseTo(16, 9);
    // luminance weights: a pure red board has 0.299 of the contrast → 0.299² of the variance
    const red = Float32Array.from({ length: H * W * 3 }, (_, k) =>
      k % 3 === 0 ? (Math.floor(k / 3 / W) + (Math.floor(k / 3) % W)) % 2 : 0,
    );
    expect(laplacianVariance(red, H, W, 3)).toBeCloseTo(16 * 0.299 ** 2, 6);
    const soft = grey((y, x) => 0.5 + 0.25 * Math.sin(x / 2) * Math.cos(y / 3));
    const edge = grey((y, x) => (x < 4 ? 0 : 1));
    expect(laplacianVariance(edge, H, W, 3)).toBeGreaterThan(laplacianVariance(soft, H, W, 3));
  });
  it('averages over pictures and maps [-1, 1] pictures to [0, 1] first', () => {
    const board = grey((y, x) => (x + y) % 2);
    const flat = grey(() => 0);
    expect(meanSharpness([board, flat], H, W, 3)).toBeCloseTo(8, 9);
    const signed = board.map((v) => v * 2 - 1);
    expect(meanSharpness([signed], H, W, 3, '[-1,1]')).toBeCloseTo(16, 9);
    expect(meanSharpness([], H, W, 3)).toBeNaN();
  });
});

const STATS = {
  images: 10,
  train: 8,
  test: 2,
  trainIdentities: 4,
  testIdentities: 1,
  vendors: ['google'],
  keywords: 3,
  perClass: {},
};

describe('model card', () => {
  /** the shipped emoji64 manifest: the cards below are rendered for it */
  const shippedManifest = () =>
    JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'models', 'emoji64', 'manifest.json'), 'utf8'));

  it('shows the contact sheets the evaluation wrote, sample modes side by side and the rest below', () => {
    const manifest = shippedManifest();
    const base = { manifest, stats: STATS, params: { G: 1e6 }, bytes: 2 ** 20, metrics: { chains: 8, steps: 100 } };
    expect(renderModelCard(base)).not.toContain('## Contact sheets');
    const card = renderModelCard({
      ...base,
      sheets: [
        '../../docs/img/emoji64-recon.png',
        '../../docs/img/emoji64-real.png',
        '../../docs/img/emoji64-ppgn.png',
      ],
    });
    expect(card).toContain(
      '| PPGN samples | real held-out emoji |\n| --- | --- |\n| ![PPGN samples](../../docs/img/emoji64-ppgn.png) | ![real held-out emoji](../../docs/img/emoji64-real.png) |',
    );
    expect(card).toContain('![held-out emoji and G(E(x)), in pairs](../../docs/img/emoji64-recon.png)');
    expect(card).not.toContain('DGN-AM samples');
    // phase times: 1784.9 s is 29 min 45 s (minutes were rounded, not floored: "30 min 45 s"), 119.7 s is 2 min 0 s
    const timed = renderModelCard({
      ...base,
      training: { timings: { joint: 1784.9, hdae: 119.7 }, steps: { joint: 10, hdae: 5 } },
    });
    expect(timed).toContain('| joint | 10 | 29 min 45 s |');
    expect(timed).toContain('| hdae | 5 | 2 min 0 s |');
  });

  it('puts the previous version beside the new numbers; re-evaluating one version keeps its "before"', () => {
    const v1 = {
      pack_version: '1.1.0',
      chains: 8,
      steps: 100,
      real_msssim: 0.182,
      recon_vs_real: 0.776,
      recon_sharpness_vs_real: 0.236,
      ppgn: { vs_real: 0.955, msssim: 0.285, frechet: 13.37 },
      fast: { vs_real: 0.905, sharpness_vs_real: 0.199 },
      inpaint: { vs_real: 0.651 },
    };
    expect(previousMetrics(null, '1.2.0')).toBeNull();
    const before = previousMetrics(v1, '1.2.0')!;
    expect(before).toMatchObject({
      pack_version: '1.1.0',
      recon_vs_real: 0.776,
      ppgn_frechet: 13.37,
      inpaint_vs_real: 0.651,
    });
    const v2 = { ...v1, pack_version: '1.2.0', recon_vs_real: 0.81, previous: before };
    expect(previousMetrics(v2, '1.2.0')).toEqual(before); // same version again: still compared with 1.1.0
    expect(previousMetrics({ ...v1, pack_version: '1.2.0' }, '1.2.0')).toBeNull(); // nothing earlier known
    expect(previousMetrics({ recon_vs_real: 0.7 }, '1.2.0')).toMatchObject({ pack_version: null, recon_vs_real: 0.7 });
    const manifest = shippedManifest();
    const card = renderModelCard({
      manifest,
      stats: STATS,
      params: { G: 1e6 },
      bytes: 2 ** 20,
      metrics: v2 as unknown as Record<string, unknown>,
    });
    expect(card).toContain('| target | before (1.1.0, same protocol) | measured | |');
    expect(card).toContain(`This version's G: ${manifest.training.generatorFrom}.`);
    expect(card).toContain('| reconstructions ≥ 0.9 × real | 0.776 | 0.810 × | **not met** |');
    expect(card).toContain('| PPGN samples ≥ 0.9 × real | 0.955 | 0.955 × | met |');
    expect(card).toContain('| inpainting ≥ 0.7 × real | 0.651 | 0.651 × | **not met** |');
    expect(card).toContain(' (train vs held-out) | 1 |'); // metrics of earlier versions have no same-size reference
    const sized = renderModelCard({
      manifest,
      stats: STATS,
      params: { G: 1e6 },
      bytes: 2 ** 20,
      metrics: { ...v2, frechet_real_train_vs_test: 3.96, frechet_real_at_sample_size: 5.62 } as unknown as Record<
        string,
        unknown
      >,
    });
    expect(sized).toContain('| 3.960 (train vs held-out; 5.620 with as many train pictures as samples) | 1 |');
    const alone = renderModelCard({
      manifest,
      stats: STATS,
      params: { G: 1e6 },
      bytes: 2 ** 20,
      metrics: v1,
    });
    expect(alone).toContain('| target | measured | |');
    expect(alone).toContain('| reconstructions ≥ 0.9 × real | 0.776 × | **not met** |');
  });

  /** a metrics.json as `npm run eval` writes it, with the inpainting numbers a test varies */
  const evaluation = (version: string, inpaint: { vs: number; images?: number; start?: string }) => ({
    pack_version: version,
    chains: 8,
    steps: 100,
    real_msssim: 0.182,
    recon_vs_real: 0.8,
    ppgn: { vs_real: 1, msssim: 0.2, frechet: 7 },
    inpaint: { vs_real: inpaint.vs, ...(inpaint.images === undefined ? {} : { images: inpaint.images }) },
    ...(inpaint.start === undefined ? {} : { sampler: { inpaint: { eps4: 1, start: inpaint.start } } }),
  });
  /** the card of `now` with `prev` as the version before it */
  const cardBeside = (prev: Record<string, unknown>, now: Record<string, unknown>) =>
    renderModelCard({
      manifest: shippedManifest(),
      stats: STATS,
      params: { G: 1e6 },
      bytes: 2 ** 20,
      metrics: { ...now, previous: previousMetrics(prev, now.pack_version as string) },
    });

  it('says when the "before" column was measured on a different number of inpainted pictures', () => {
    const run = (version: string, images: number | undefined, vs: number) => evaluation(version, { vs, images });
    const same = cardBeside(run('1.3.0', 555, 0.645), run('1.4.0', 555, 0.675));
    expect(same).toContain('| target | before (1.3.0, same protocol) | measured | |');
    expect(same).toContain('| inpainting (left half known, 555 held-out images, chains from a random code) |');
    expect(same).toContain('| inpainting ≥ 0.7 × real | 0.645 | 0.675 × | **not met** |');
    expect(same).not.toContain('Not the same protocol');
    expect(same).not.toContain('| target | measured | |'); // one targets table, with its "before" column
    expect(same.match(/\| inpainting ≥ 0\.7 × real \|/g)).toHaveLength(1);
    const fewer = cardBeside(run('1.3.0', 174, 0.632), run('1.4.0', 555, 0.675));
    expect(fewer).toContain('| target | before (1.3.0) | measured | |');
    expect(fewer).toContain('Not the same protocol: inpainting on 174 held-out images then, 555 now.');
    const unknown = cardBeside(run('1.2.0', undefined, 0.603), run('1.3.0', 555, 0.645));
    expect(unknown).toContain(
      'Not the same protocol: inpainting on 555 held-out images now; the earlier numbers do not say how many it used.',
    );
    const longer = cardBeside({ ...run('1.3.0', 555, 0.645), steps: 200 }, run('1.4.0', 555, 0.675));
    expect(longer).toContain('Not the same protocol: samples 8 × 200 per class then, 8 × 100 now.');
    expect(protocolDifference({ chains: 8, steps: 100 }, { chains: 8, steps: 100 })).toBeNull();
  });

  it('says where inpainting chains started, and when the "before" column started them elsewhere', () => {
    const run = (version: string, start: string | undefined, vs: number) =>
      evaluation(version, { vs, images: 555, start });
    // 1.4.0 re-evaluated from E's guess: its earlier metrics (random start) are the same version, so "before" is
    // what they carried; an older pack evaluated before the start was recorded started from a random code
    const older = cardBeside(run('1.3.0', undefined, 0.645), run('1.4.0', 'mean', 0.696));
    expect(older).toContain(
      '| inpainting (left half known, 555 held-out images, chains from E(known half + its mean colour in the unknown half)) | ',
    );
    expect(older).toContain('| target | before (1.3.0) | measured | |');
    expect(older).toContain(
      'Not the same protocol: inpainting chains started from a random code then, from E(known half + its mean colour in the unknown half) now.',
    );
    expect(older).toContain('| inpainting ≥ 0.7 × real | 0.645 | 0.696 × | **not met** |');
    const recorded = cardBeside(run('1.4.0', 'random', 0.675), run('1.5.0', 'random', 0.7));
    expect(recorded).toContain('chains from a random code) | ');
    expect(recorded).toContain('| target | before (1.4.0, same protocol) | measured | |');
    expect(recorded).toContain('| inpainting ≥ 0.7 × real | 0.675 | 0.700 × | met |');
    const both = cardBeside(run('1.4.0', 'mean', 0.696), run('1.5.0', 'mean', 0.72));
    expect(both).toContain('| target | before (1.4.0, same protocol) | measured | |');
    expect(both).not.toContain('Not the same protocol');
    // no inpainting on one side: nothing to compare, nothing said
    const { inpaint: _, ...noInpaint } = run('1.4.0', undefined, 0);
    expect(
      protocolDifference(previousMetrics(noInpaint, '1.5.0')!, previousMetrics(run('1.5.0', 'mean', 0.7), null)!),
    ).toBeNull();
  });
});

describe('PyTorch trainer', () => {
  it('says what to install when Python or torch is missing', () => {
    const old = process.env.PYTHON;
    process.env.PYTHON = path.join(tmp, 'no-such-python');
    try {
      expect(() => findPython()).toThrow(PythonMissingError);
      expect(() => findPython()).toThrow(/apt-get install python3-torch libopenblas0-pthread/);
    } finally {
      if (old === undefined) delete process.env.PYTHON;
      else process.env.PYTHON = old;
    }
  });

  it('G recipes: widening keeps what G computes, DiffAugment moves and masks but keeps gradients, random erasing, D is spectrally normalised, EMA converges, whole-pixel shifts keep pictures sharp, edge loss, focal frequency loss, spectrum loss, patch D, projection D', async () => {
    const dir = path.join(tmp, 'recipe');
    await runTrainer(py, 'recipe_check', ['--out', dir], { quiet: true });
    const r = JSON.parse(readFileSync(path.join(dir, 'recipe.json'), 'utf8')) as Record<
      string,
      number | string | number[] | false
    >;
    expect(r.widenMaxDiff).toBeLessThanOrEqual(1e-5); // function-preserving without noise
    expect(r.widenNoisyMaxDiff).toBeGreaterThan(1e-3); // the noise breaks the copies' symmetry
    expect(r.widenTapShape).toEqual([5, 9, 4, 4]); // the wide net's own widths
    expect(r.narrowRefused).toMatch(/cannot widen 13 channels to 8/);
    expect(r.translateDarkAfter).toBe(r.translateDarkBefore); // an interior square moves whole
    expect(r.translateMoved as number).toBeGreaterThanOrEqual(1);
    expect(r.cutoutFraction as number).toBeGreaterThan(0.03);
    expect(r.cutoutFraction as number).toBeLessThan(0.1);
    expect(r.augmentGradNonZero).toBe(1);
    // random erasing: half the pictures, one grey rectangle of ¼–¾ of each side (1/16–9/16 of the area)
    expect(r.eraseTouched as number).toBeGreaterThan(0.4);
    expect(r.eraseTouched as number).toBeLessThan(0.6);
    expect(r.eraseAreaMin as number).toBeGreaterThanOrEqual((7 * 7) / 1024);
    expect(r.eraseAreaMax as number).toBeLessThanOrEqual((25 * 25) / 1024);
    expect(r.eraseOnlyGrey).toBe(true);
    expect(r.eraseNoneAtZero).toBe(true);
    expect(Math.abs((r.spectralNorm as number) - 1)).toBeLessThan(0.05);
    expect(r.emaMaxDiff).toBeLessThan(1e-4);
    // the sharper-G options: edge L1 is 0 for the same picture, counts a moved edge, and a blurred edge less
    expect(r.edgeSame).toBe(0);
    expect(r.edgeMoved as number).toBeGreaterThan(r.edgeBlurred as number);
    expect(r.edgeBlurred as number).toBeGreaterThan(0);
    // augmentation: fractional shifts and scales blur (bilinear); whole-pixel shifts copy every pixel
    expect(r.fractionalSharpness as number).toBeLessThan(0.8);
    expect(r.wholeExact).toBe(1);
    expect(Math.abs((r.wholeSharpness as number) - 1)).toBeLessThan(0.2);
    // focal frequency loss: 0 for the same picture; at equal pixel MSE an error in one frequency (stripes) costs more
    // than white noise spread over all of them
    expect(r.fflSame).toBe(0);
    const [mseStripes, mseNoise] = r.fflMseStripesNoise as number[];
    expect(Math.abs(mseStripes - mseNoise) / mseStripes).toBeLessThan(1e-4);
    expect(r.fflStripes as number).toBeGreaterThan(1.5 * (r.fflNoise as number));
    expect(r.fflGradNonZero).toBe(1);
    // spectrum loss: where the energy lies does not count (a moved picture costs nothing, unlike pixels); a blur does
    expect(r.specSame).toBe(0);
    expect(r.specMoved as number).toBeLessThan(1e-4);
    expect(r.pixMoved as number).toBeGreaterThan(0.05);
    expect(r.specBlurred as number).toBeGreaterThan(0.1);
    expect(r.patchLogits).toEqual([2, 1, 8, 8]); // a patch D scores 8×8 patches of a 64×64 picture
    expect(r.globalLogits).toEqual([2, 1]);
    // a projection D starts as the unconditional D it extends, learns to score a picture by class, needs D's features
    expect(r.projStartDiff).toBe(0);
    expect(r.projClassGap as number).toBeGreaterThan(1);
    expect(r.projPatchRefused).toMatch(/needs D's flattened features/);
  });

  it('parity: every layer type gives the same outputs and taps in PyTorch and in @ppgn/core (≤ 1e-4)', async () => {
    const dir = path.join(tmp, 'parity');
    await runTrainer(py, 'parity', ['--out', dir], { quiet: true });
    const fx = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as {
      cases: { net: string; input: T; output: T; taps: Record<string, T> }[];
    };
    type T = { shape: number[]; data: number[] };
    const types = new Set<string>();
    for (const c of fx.cases) {
      const net = await loadNet(path.join(dir, c.net));
      for (const l of net.spec.layers) types.add(l.type);
      const x = tf.tensor(c.input.data, c.input.shape);
      const names = Object.keys(c.taps);
      const r = net.apply(x, { taps: names });
      const check = (got: tf.Tensor, want: T, what: string) => {
        expect(got.shape, what).toEqual(want.shape);
        const g = got.dataSync();
        let max = 0;
        for (let i = 0; i < g.length; i++) max = Math.max(max, Math.abs(g[i] - want.data[i]));
        expect(max, `${c.net} ${what}`).toBeLessThanOrEqual(1e-4);
      };
      check(r.output, c.output, 'output');
      for (const n of names) check(r.taps[n], c.taps[n], `tap ${n}`);
      tf.dispose([x, r.output, ...Object.values(r.taps)]);
      net.dispose();
    }
    for (const t of [
      'conv2d',
      'dense',
      'upsample',
      'relu',
      'leakyRelu',
      'tanh',
      'sigmoid',
      'batchnorm',
      'affine',
      'reshape',
      'flatten',
      'avgPool',
      'maxPool',
      'globalAvgPool',
      'dropout',
    ])
      expect(types.has(t), t).toBe(true);
  });

  it('a tiny training run writes a pack that loads and samples in every mode; --resume retrains nothing; --init-from refines a pack', async () => {
    const file = await ensureDatasetFile(tmp, { ...TINY_DATA, classes: FIXTURE_CLASSES });
    const out = path.join(tmp, 'pack');
    const runDir = path.join(tmp, 'run');
    const trainArgs = (to: string, run: string) => [
      '--dataset',
      file,
      '--out',
      to,
      '--run-dir',
      run,
      '--config',
      'tiny',
      '--threads',
      '1',
      '--device',
      'cpu',
    ];
    const args = trainArgs(out, runDir);
    await runTrainer(py, 'train', args, { quiet: true });
    const pack = await loadPack(out);
    expect(pack.manifest.conditions.map((c) => c.id)).toEqual(['class', 'keywords', 'style', 'colour', 'units']);
    expect(pack.manifest.defaults?.context?.eps4).toBeGreaterThan(0);
    expect(existsSync(path.join(out, 'eval', 'evalC.net.json'))).toBe(true);
    expect(Object.keys(pack.manifest.networks)).not.toContain('evalC');
    expect(existsSync(path.join(runDir, 'gref_Dproj.pt'))).toBe(true); // the tiny config's projection D, kept to resume
    const chains = [
      await createChain(pack, { seed: 1, condition: cond.class(FIXTURE_CLASSES[0]), config: { steps: 5 } }),
      await createChain(pack, {
        seed: 2,
        condition: cond.class('noto', { condition: 'style' }),
        config: { prior: 'hdae' },
      }),
      await createChain(pack, {
        seed: 3,
        condition: cond.class(FIXTURE_CLASSES[1]),
        config: { mode: 'fast', prior: 'hdae', fastPrior: 0.5 },
      }),
      await createChain(pack, { seed: 4, condition: cond.class(FIXTURE_CLASSES[2]), config: { mode: 'dgnam' } }),
    ];
    for (let s = 0; s < 3; s++) {
      const r = await stepBatch(pack, chains, { render: s === 2 });
      for (const x of r) expect(Number.isFinite(x.hNorm)).toBe(true);
      if (s === 2) expect(r[0].image!.length).toBe(8 * 8 * 3);
    }
    pack.dispose();
    // resume from the gzipped dataset file (how it travels to a GPU host): same data, nothing retrained
    const gz = file + '.gz';
    writeFileSync(gz, gzipSync(readFileSync(file)));
    const lines: string[] = [];
    await runTrainer(py, 'train', [...args.map((a) => (a === file ? gz : a)), '--resume'], {
      quiet: true,
      onLine: (l) => lines.push(l),
    });
    expect(lines.some((l) => l.startsWith(`[train] tiny: ${ds.n} images`))).toBe(true);
    expect(lines.some((l) => l.includes('resumed'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('[train] phase')).length).toBe(0);
    // a new run started from the pack's weights alone (checkpoints gone) refines G only: E is kept bit for bit
    const next = path.join(tmp, 'pack-next');
    const nextArgs = trainArgs(next, path.join(tmp, 'run-next'));
    const init: string[] = [];
    await runTrainer(py, 'train', [...nextArgs, '--init-from', out, '--again', 'gref:3'], {
      quiet: true,
      onLine: (l) => init.push(l),
    });
    expect(
      init.some((l) => l.includes(`initialised from ${out}: loaded E, G, hdae, fastMlp, style, colour, evalC`)),
    ).toBe(true);
    expect(init.filter((l) => l.startsWith('[train] phase'))).toEqual(['[train] phase gref: 3 steps']);
    const before = JSON.parse(readFileSync(path.join(out, 'eval', 'training.json'), 'utf8')) as {
      steps: Record<string, number>;
    };
    const after = JSON.parse(readFileSync(path.join(next, 'eval', 'training.json'), 'utf8')) as {
      steps: Record<string, number>;
    };
    expect(after.steps.gref).toBe(before.steps.gref! + 3);
    expect(after.steps.joint).toBe(before.steps.joint);
    const bytes = (dir: string, net: string) => readFileSync(path.join(dir, `${net}.weights.bin`));
    expect(bytes(next, 'E').equals(bytes(out, 'E'))).toBe(true);
    expect(bytes(next, 'G').equals(bytes(out, 'G'))).toBe(false);
    // the run started from a pack holds every network it was given: resuming it needs the run dir only
    const again = path.join(tmp, 'pack-again');
    await runTrainer(py, 'train', [...trainArgs(again, path.join(tmp, 'run-next')), '--resume', '--export-only'], {
      quiet: true,
    });
    for (const net of ['E', 'G', 'hdae', 'fastMlp', 'style', 'colour'])
      expect(bytes(again, net).equals(bytes(next, net)), net).toBe(true);
    // a run's G put into a copy of the base pack (how G-only candidates are evaluated): everything else is the base's
    const cand = path.join(tmp, 'pack-candidate');
    await runTrainer(
      py,
      'candidate',
      ['--base', out, '--dataset', file, '--run', `tiny:${path.join(tmp, 'run-next')}`, '--out', cand],
      { quiet: true },
    );
    expect(bytes(cand, 'G').equals(bytes(next, 'G'))).toBe(true);
    for (const net of ['E', 'hdae', 'fastMlp', 'style', 'colour'])
      expect(bytes(cand, net).equals(bytes(out, net)), net).toBe(true);
    const candManifest = JSON.parse(readFileSync(path.join(cand, 'manifest.json'), 'utf8')) as {
      name: string;
      training: { generatorFrom?: string; steps?: Record<string, number> };
    };
    expect(candManifest.name).toBe('pack-candidate');
    const history = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'eval', 'training.json'), 'utf8'));
    expect(history(cand).steps).toEqual(history(next).steps); // the run's history: the base's + its refinement
    expect(candManifest.training.steps).toEqual(history(next).steps); // and the manifest says the same
    expect(candManifest.training.generatorFrom).toBe(`tiny:${path.join(tmp, 'run-next')}`);
    await expect(
      runTrainer(py, 'candidate', ['--base', out, '--dataset', file, '--run', 'tiny:x', '--out', out], { quiet: true }),
    ).rejects.toThrow(/--out must differ from --base/);
    const refined = await loadPack(next);
    expect(refined.manifest.code).toEqual(JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')).code);
    refined.dispose();
    // E refined to invert G (`--again eref:N`): G kept bit for bit, the code nets retrained on the new codes
    const eref = path.join(tmp, 'pack-eref');
    const erefRun = path.join(tmp, 'run-eref');
    const erefLines: string[] = [];
    await runTrainer(py, 'train', [...trainArgs(eref, erefRun), '--init-from', out, '--again', 'eref:3'], {
      quiet: true,
      onLine: (l) => erefLines.push(l),
    });
    expect(erefLines.filter((l) => l.startsWith('[train] phase'))).toEqual([
      '[train] phase eref: 3 steps',
      '[train] phase hdae: 10 steps',
      '[train] phase fast: 10 steps',
    ]);
    // the tiny config gives eref D's judgement of G's picture (eref-d): its loss is reported
    expect(erefLines.some((l) => l.startsWith('[eref]') && / gan \d/.test(l))).toBe(true);
    expect(bytes(eref, 'G').equals(bytes(out, 'G'))).toBe(true);
    for (const net of ['E', 'hdae', 'fastMlp']) expect(bytes(eref, net).equals(bytes(out, net)), net).toBe(false);
    expect(history(out).steps.eref).toBe(5); // the tiny config gives eref steps: the first run ran it too
    expect(history(eref).steps.eref).toBe(5 + 3);
    expect(history(eref).steps.hdae).toBe(history(out).steps.hdae + 10);
    // its candidate: E and the code nets from the run, G and the plug-ins the base's, the code range the run's
    const erefCand = path.join(tmp, 'pack-eref-candidate');
    const candArgs = ['--base', out, '--dataset', file, '--run', `tiny:${erefRun}`, '--out', erefCand];
    await runTrainer(py, 'candidate', [...candArgs, '--nets', 'E,hdae,fastMlp'], { quiet: true });
    for (const net of ['E', 'hdae', 'fastMlp']) expect(bytes(erefCand, net).equals(bytes(eref, net)), net).toBe(true);
    for (const net of ['G', 'style', 'colour']) expect(bytes(erefCand, net).equals(bytes(out, net)), net).toBe(true);
    const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifestOf(erefCand).code).toEqual(manifestOf(eref).code);
    expect(manifestOf(erefCand).training.encoderFrom).toBe(`tiny:${erefRun}`);
    expect(manifestOf(erefCand).training.generatorFrom).toBe(manifestOf(out).training.generatorFrom);
    await expect(runTrainer(py, 'candidate', [...candArgs, '--nets', 'E,D'], { quiet: true })).rejects.toThrow(
      /--nets: D/,
    );
    // the PyTorch sampler port used for tuning runs on the pack and reports one line per setting
    const tuned: string[] = [];
    await runTrainer(
      py,
      'tune',
      ['--pack', out, '--dataset', file, '--chains', '2', '--steps', '3', '--grid', 'fast'],
      { quiet: true, onLine: (l) => tuned.push(l) },
    );
    const rows = tuned
      .filter((l) => l.startsWith('{"cfg"'))
      .map((l) => JSON.parse(l) as { acc: number; vs_real: number });
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.acc >= 0 && r.acc <= 1).toBe(true);
    // compare: E/G pairs on held-out pictures; --search finds per-picture codes that G draws closer than E(x)
    const cmp = path.join(tmp, 'compare.json');
    const cmpArgs = ['--dataset', file, '--evalc', out, '--candidate', `v=pack:${out}`, '--json', cmp];
    await runTrainer(py, 'compare', [...cmpArgs, '--search', '20', '--search-features', '0'], { quiet: true });
    const judged = JSON.parse(readFileSync(cmp, 'utf8')) as Record<string, { recon_mse?: number }>;
    expect(Object.keys(judged).sort()).toEqual(['real', 'v', 'v+search']);
    expect(judged['v+search'].recon_mse!).toBeLessThan(judged.v.recon_mse!);
    // the real pictures' Laplacian energy by band of spatial frequency adds up to all of it; a band the 8×8 pictures
    // do not reach (|f| ≥ 8) has no share for the reconstructions either
    const bands = judged as unknown as Record<string, Record<string, (number | null)[]>>;
    const shares = bands.real.laplacian_share_by_band as number[];
    expect(shares.length).toBe(5);
    expect(Math.abs(shares.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(0.01);
    expect(bands.v.laplacian_by_band_share_of_real[0]).toBeGreaterThan(0);
    expect(bands.v.laplacian_by_band_share_of_real.slice(1)).toEqual([null, null, null, null]);
    // --split train judges training pictures (the memorisation gap): K of them with --subset K
    expect(judged.real).toMatchObject({ split: 'test' });
    await runTrainer(py, 'compare', [...cmpArgs, '--split', 'train', '--subset', '5'], { quiet: true });
    const onTrain = JSON.parse(readFileSync(cmp, 'utf8')) as Record<string, { split?: string; pictures?: number }>;
    expect(onTrain.real).toMatchObject({ split: 'train', pictures: 5 });
    expect((judged.real as { pictures?: number }).pictures).toBeGreaterThan(5);
    await expect(runTrainer(py, 'compare', [...cmpArgs, '--search', '-1'], { quiet: true })).rejects.toThrow(
      /count ≥ 0/,
    );
  });
});
