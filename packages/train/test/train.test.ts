import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, loadPack, createChain, stepBatch, cond, tf } from '@ppgn/core';
import { buildDataset, loadDataset, readDatasetFile, splitByIdentity, selectEntries, resolveOptions, type Dataset } from '../src/data/dataset';
import { coarseClassOf, CLASS_NAMES, colourBin } from '../src/data/labels';
import { msssim, meanPairwiseMsssim } from '../src/msssim';
import { TINY } from '../src/config';
import { train, buildNets, sizesOf, PHASES } from '../src/pipeline';
import { exportPack } from '../src/export';
import { installFastMatMulGrad } from '../src/tf';
import { writeFixture, fixtureEntries, FIXTURE_CLASSES } from './fixture';

let tmp: string;
let ds: Dataset;

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
  installFastMatMulGrad();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-train-'));
  writeFixture(tmp);
  ds = buildDataset(tmp, { ...TINY.data, classes: FIXTURE_CLASSES });
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('dataset', () => {
  it('caches the dataset as 8-bit images that read back (also from a bare file, as on a GPU host)', async () => {
    const opts = { ...TINY.data, classes: FIXTURE_CLASSES };
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
    expect(CLASS_NAMES.length).toBeGreaterThanOrEqual(15);
    expect(CLASS_NAMES.length).toBeLessThanOrEqual(20);
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

describe('training', () => {
  it('exported pack round-trips: same outputs before and after export (1e-5)', async () => {
    const nets = buildNets(TINY.nets(sizesOf(ds)), 3);
    const dir = path.join(tmp, 'roundtrip');
    const stats = { mean: 0.5, std: 0.5, max: 3, p999: 2, zeroFraction: 0.4, meanPositive: 0.8, normMean: 2 };
    await exportPack(dir, { cfg: TINY, ds, nets, codeStats: stats, seed: 3, training: {} });
    const pack = await loadPack(dir);
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 5);
    const h = tf.randomUniform([4, TINY.codeDim], 0, 1, 'float32', 6);
    const pairs: [string, tf.Tensor][] = [
      ['E', x],
      ['G', h],
      ['hdae', h],
      ['fastMlp', h],
      ['style', x],
      ['colour', x],
    ];
    for (const [k, inp] of pairs) {
      const before = nets[k as keyof typeof nets].predict(inp).dataSync();
      const after = pack.nets[k].predict(inp).dataSync();
      expect(after.length).toBe(before.length);
      let maxDiff = 0;
      for (let i = 0; i < before.length; i++) maxDiff = Math.max(maxDiff, Math.abs(before[i] - after[i]));
      expect(maxDiff).toBeLessThan(1e-5);
    }
    expect(existsSync(path.join(dir, 'eval', 'evalC.net.json'))).toBe(true);
    expect(existsSync(path.join(dir, 'MODEL_CARD.md'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.networks)).not.toContain('evalC');
    pack.dispose();
    for (const n of Object.values(nets)) n.dispose();
    tf.dispose([x, h]);
  });

  it('a tiny training run produces a pack that loads and samples; resume skips finished phases', async () => {
    const out = path.join(tmp, 'pack');
    const runDir = path.join(tmp, 'run');
    const logs: string[] = [];
    const summary = await train({
      config: TINY,
      dataset: ds,
      out,
      runDir,
      backend: 'cpu',
      progress: false,
      log: (m) => logs.push(m),
    });
    expect(Object.keys(summary.phases)).toEqual(PHASES);
    for (const p of Object.values(summary.phases)) expect(p.done).toBe(true);
    const pack = await loadPack(out);
    expect(pack.manifest.conditions.map((c) => c.id)).toEqual(['class', 'keywords', 'style', 'colour', 'units']);
    const chains = [
      await createChain(pack, { seed: 1, condition: cond.class(FIXTURE_CLASSES[0]), config: { steps: 5 } }),
      await createChain(pack, {
        seed: 2,
        condition: cond.class('noto', { condition: 'style' }),
        config: { prior: 'hdae' },
      }),
      await createChain(pack, { seed: 3, condition: cond.class(FIXTURE_CLASSES[1]), config: { mode: 'fast' } }),
    ];
    for (let s = 0; s < 3; s++) {
      const r = await stepBatch(pack, chains, { render: s === 2 });
      for (const x of r) expect(Number.isFinite(x.hNorm)).toBe(true);
      if (s === 2) expect(r[0].image!.length).toBe(8 * 8 * 3);
    }
    pack.dispose();
    // resume: every phase is loaded, nothing retrained
    const logs2: string[] = [];
    await train({
      config: TINY,
      dataset: ds,
      out,
      runDir,
      backend: 'cpu',
      progress: false,
      resume: true,
      log: (m) => logs2.push(m),
    });
    expect(logs2.filter((l) => l.includes('done in a previous run')).length).toBe(PHASES.length);
  });
});
