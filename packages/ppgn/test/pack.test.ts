import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  buildRandomPack,
  tf,
  Net,
  PpgnPackError,
  parseManifest,
  loadPackFrom,
  memorySource,
  serializePack,
  makePack,
  resolveCondition,
  cond,
  type Pack,
} from '../src/index';
import { savePack, loadPack, listPacks } from '../src/node';
import { useCpu, maxAbsDiff } from './helpers';

let dir: string;
let pack: Pack;
beforeAll(async () => {
  await useCpu();
  dir = mkdtempSync(path.join(tmpdir(), 'ppgn-pack-'));
  pack = buildRandomPack({ name: 'tiny', image: [16, 16, 3], codeDim: 20, keywords: 7, hdae: true, fastMlp: true }, 3);
  await savePack(path.join(dir, 'tiny'), pack);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function outputs(p: Pack) {
  return tf.tidy(() => {
    const h = tf.reshape(tf.linspace(0, 2, 2 * 20), [2, 20]);
    const x = p.G.apply(h).output;
    const e = p.E.apply(x, { taps: ['code', 'logits', 'keywords'] });
    return [x, e.taps.code, e.taps.logits, e.taps.keywords, p.hdae!.apply(h).output, p.fastMlp!.apply(h).output].map(
      (t) => t.dataSync() as Float32Array,
    );
  });
}

describe('pack format', () => {
  it('save → load round trip gives identical outputs (1e-5)', async () => {
    const loaded = await loadPack(path.join(dir, 'tiny'));
    expect(loaded.manifest).toEqual(pack.manifest);
    const a = outputs(pack);
    const b = outputs(loaded);
    a.forEach((v, i) => expect(maxAbsDiff(v, b[i])).toBeLessThan(1e-5));
    loaded.dispose();
  });

  it('writes spec json + float32 LE weights + manifest with name, shape, offset', () => {
    const nf = JSON.parse(readFileSync(path.join(dir, 'tiny', 'G.net.json'), 'utf8'));
    expect(nf.format).toBe('ppgn-net/1');
    expect(nf.weightsFile).toBe('G.weights.bin');
    const bin = readFileSync(path.join(dir, 'tiny', 'G.weights.bin'));
    const first = nf.weights[0];
    expect(first).toEqual({ name: 'fc/kernel', shape: [20, 4 * 4 * 32], offset: 0 });
    expect(bin.readFloatLE(0)).toBeCloseTo(pack.G.variables['fc/kernel'].dataSync()[0], 7);
    const last = nf.weights[nf.weights.length - 1];
    expect(last.offset + last.shape.reduce((a: number, b: number) => a * b, 1) * 4).toBe(bin.length);
  });

  it('listPacks finds packs and reports broken ones without throwing', async () => {
    const bad = path.join(dir, 'broken');
    await savePack(bad, { manifest: { ...pack.manifest, name: 'broken' }, nets: pack.nets });
    const m = JSON.parse(readFileSync(path.join(bad, 'manifest.json'), 'utf8'));
    m.conditions[1].vocabulary = 'oops';
    writeFileSync(path.join(bad, 'manifest.json'), JSON.stringify(m));
    const list = await listPacks(dir);
    expect(list.map((p) => p.name)).toEqual(['broken', 'tiny']);
    expect(list[0].error).toMatch(/broken[/\\]manifest\.json: conditions\[1\]\.vocabulary: expected array/);
    expect(list[1].manifest?.image).toEqual({ height: 16, width: 16, channels: 3, range: '[0,1]' });
    expect(await listPacks(path.join(dir, 'nope'))).toEqual([]);
  });

  async function brokenCopy(name: string, edit: (m: Record<string, any>, d: string) => void): Promise<string> {
    const d = path.join(dir, name);
    await savePack(d, { manifest: { ...pack.manifest, name }, nets: pack.nets });
    const m = JSON.parse(readFileSync(path.join(d, 'manifest.json'), 'utf8'));
    edit(m, d);
    writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
    return d;
  }

  it('broken manifest: error names the file and the field', async () => {
    const d = await brokenCopy('x', (m) => {
      m.conditions[0].labels = 'cat';
    });
    const err = await loadPack(d).catch((e) => e);
    expect(err).toBeInstanceOf(PpgnPackError);
    expect(err.message).toMatch(/x[/\\]manifest\.json: conditions\[0\]\.labels: expected array/);
    expect(err.field).toBe('conditions[0].labels');
  });

  it.each([
    ['missing licence', (m: any) => delete m.licence, /manifest\.json: licence:/],
    ['bad image range', (m: any) => (m.image.range = '0..1'), /manifest\.json: image\.range:/],
    [
      'label count mismatch',
      (m: any) => m.conditions[0].labels.push('extra'),
      /manifest\.json: conditions\[0\]\.labels: 6 entries but E\.logits has shape \[5\]/,
    ],
    [
      'unknown tap',
      (m: any) => (m.code.encoderTap = 'fc7'),
      /manifest\.json: code\.encoderTap: E has no layer named "fc7"/,
    ],
    [
      'wrong code dim',
      (m: any) => (m.code.dim = 21),
      /G\.net\.json: spec\.input: G input is \[20\] but code\.dim is 21/,
    ],
    ['unit channels', (m: any) => (m.conditions[2].layers[0].channels = 99), /conditions\[2\]\.layers\[0\]\.channels/],
    [
      'duplicate label',
      (m: any) => (m.conditions[0].labels[1] = m.conditions[0].labels[0]),
      /conditions\[0\]\.labels\[1\]: duplicate/,
    ],
    ['unknown condition net', (m: any) => (m.conditions[0].net = 'C9'), /conditions\[0\]\.net: unknown network "C9"/],
  ])('%s', async (name, edit, re) => {
    const d = await brokenCopy(name.replace(/\s/g, '_'), edit);
    await expect(loadPack(d)).rejects.toThrow(re);
  });

  it('weights with a wrong shape or truncated file are reported with the file name', async () => {
    const d = await brokenCopy('shape', (_m, dd) => {
      const f = path.join(dd, 'E.net.json');
      const nf = JSON.parse(readFileSync(f, 'utf8'));
      nf.weights[0].shape = [3, 3, 3, 99];
      writeFileSync(f, JSON.stringify(nf));
    });
    await expect(loadPack(d)).rejects.toThrow(
      /E\.net\.json: weights\[0\]\.shape: tensor "conv1\/kernel" has shape \[3,3,3,99\] but the spec needs \[3,3,3,8\]/,
    );
    const d2 = await brokenCopy('trunc', (_m, dd) => {
      const f = path.join(dd, 'G.weights.bin');
      writeFileSync(f, readFileSync(f).subarray(0, 100));
    });
    await expect(loadPack(d2)).rejects.toThrow(
      /G\.net\.json: weights\[\d+\]\.offset: .* outside the 100-byte weights file/,
    );
    const d3 = await brokenCopy('nojson', (_m, dd) => writeFileSync(path.join(dd, 'hdae.net.json'), '{ nope'));
    await expect(loadPack(d3)).rejects.toThrow(/hdae\.net\.json: invalid JSON/);
  });

  it('failed loads leave no tensors behind; several packs can be loaded at once', async () => {
    const n0 = tf.memory().numTensors;
    await expect(loadPack(path.join(dir, 'shape'))).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(n0);
    await expect(loadPack(path.join(dir, 'trunc'))).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(n0);
    const a = await loadPack(path.join(dir, 'tiny'));
    expect(tf.memory().numTensors).toBeGreaterThan(n0);
    const b = await loadPack(path.join(dir, 'x')).catch(() => null);
    const c = await loadPack(path.join(dir, 'tiny'));
    expect(b).toBeNull();
    expect(a.G).not.toBe(c.G);
    a.dispose();
    c.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('parseManifest applies defaults', () => {
    const m = parseManifest({ ...pack.manifest, description: undefined, attribution: undefined });
    expect(m.description).toBe('');
    expect(m.format).toBe('ppgn-pack/1');
  });
});

describe('Net', () => {
  it('runs every layer type and returns taps by name', () => {
    const net = new Net(
      {
        input: [8, 8, 2],
        layers: [
          { type: 'conv2d', filters: 4, kernel: 3, name: 'c' },
          { type: 'batchnorm', name: 'bn' },
          { type: 'leakyRelu', alpha: 0.1 },
          { type: 'maxPool', size: 2, name: 'mp' },
          { type: 'conv2dTranspose', filters: 3, kernel: 4, stride: 2, name: 'ct' },
          { type: 'affine' },
          { type: 'sigmoid' },
          { type: 'avgPool', size: 2, stride: 2 },
          { type: 'dropout', rate: 0.5 },
          { type: 'globalAvgPool', name: 'gap' },
          { type: 'dense', units: 16 },
          { type: 'tanh' },
          { type: 'reshape', shape: [2, 2, 4] },
          { type: 'upsample', factor: 2, name: 'up' },
          { type: 'flatten' },
          { type: 'relu', name: 'out' },
        ],
      },
      { seed: 3 },
    );
    expect(net.outputShape).toEqual([64]);
    const n0 = tf.memory().numTensors;
    tf.tidy(() => {
      const r = net.apply(tf.ones([2, 8, 8, 2]), { taps: ['mp', 'ct', 'gap', 'up'] });
      expect(r.output.shape).toEqual([2, 64]);
      expect(r.taps.mp.shape).toEqual([2, 4, 4, 4]);
      expect(r.taps.ct.shape).toEqual([2, 8, 8, 3]);
      expect(r.taps.gap.shape).toEqual([2, 3]);
      expect(r.taps.up.shape).toEqual([2, 4, 4, 4]);
    });
    expect(tf.memory().numTensors).toBe(n0);
    expect(() => net.apply(tf.ones([1, 4, 4, 2]))).toThrow(/does not match/);
    expect(() => new Net({ input: [4], layers: [{ type: 'conv2d', filters: 2, kernel: 3 }] })).toThrow(/rank-3/);
    net.dispose();
  });

  it('same seed → same weights; serialize/deserialize round trip; variables are trainable', () => {
    const spec = { input: [5], layers: [{ type: 'dense' as const, units: 3, name: 'd' }] };
    const a = new Net(spec, { seed: 9 });
    const b = new Net(spec, { seed: 9 });
    expect(Array.from(a.getWeights()['d/kernel'])).toEqual(Array.from(b.getWeights()['d/kernel']));
    const { file, weights } = a.serialize('x.bin');
    const c = Net.deserialize(JSON.parse(JSON.stringify(file)), weights);
    expect(Array.from(c.getWeights()['d/kernel'])).toEqual(Array.from(a.getWeights()['d/kernel']));
    expect(a.trainableVariables.every((v) => v.trainable)).toBe(true);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('conv input and filter gradients (forward-conv formulation) match tf.conv2d gradients', () => {
    const cases: [number, number, number, 'same' | 'valid'][] = [
      [8, 3, 1, 'same'],
      [8, 3, 2, 'same'],
      [7, 3, 2, 'same'],
      [9, 5, 2, 'same'],
      [10, 4, 2, 'valid'],
      [7, 4, 3, 'same'],
    ];
    for (const [n, k, s, pad] of cases) {
      const net = new Net(
        {
          input: [n, n + 1, 2],
          layers: [{ type: 'conv2d', filters: 3, kernel: k, stride: s, padding: pad, bias: false, name: 'c' }],
        },
        { seed: n + k },
      );
      const W = net.variables['c/kernel'];
      tf.tidy(() => {
        const x = tf.randomNormal([2, n, n + 1, 2], 0, 1, 'float32', 5);
        const ref = tf.grads((a: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, s, pad))),
        )([x, W]);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(net.apply(a).output)))(x);
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(net.apply(x, { train: true }).output)) as tf.Scalar,
          [W],
        );
        expect(maxAbsDiff(dx.dataSync(), ref[0].dataSync())).toBeLessThan(1e-3);
        expect(maxAbsDiff(grads[W.name].dataSync(), ref[1].dataSync())).toBeLessThan(1e-3);
      });
      net.dispose();
    }
  });
});

describe('packs from bytes (no file system)', () => {
  it('serializePack → memorySource → loadPackFrom gives the same outputs; a missing file is named in the error', async () => {
    const pack = buildRandomPack({ image: [16, 16, 3], codeDim: 8, hdae: true }, 4);
    const files = serializePack(pack);
    expect(Object.keys(files).sort()).toEqual([
      'E.net.json',
      'E.weights.bin',
      'G.net.json',
      'G.weights.bin',
      'hdae.net.json',
      'hdae.weights.bin',
      'manifest.json',
    ]);
    const back = await loadPackFrom(memorySource(files, 'mem'));
    const h = tf.randomNormal([2, 8], 0, 1, 'float32', 3);
    const a = pack.G.predict(h).dataSync();
    const b = back.G.predict(h).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    const { ['G.weights.bin']: _drop, ...rest } = files;
    await expect(loadPackFrom(memorySource(rest, 'mem'))).rejects.toThrow(/mem\/G\.weights\.bin: cannot read weights/);
    tf.dispose(h);
    pack.dispose();
    back.dispose();
  });
});

describe('keyword lexicons', () => {
  it('a lexicon named by the manifest travels with the pack and lets text of other languages steer the keywords', async () => {
    const base = buildRandomPack({ image: [16, 16, 3], codeDim: 8, keywords: ['red', 'cat', 'heart'] }, 5);
    const manifest = {
      ...base.manifest,
      conditions: base.manifest.conditions.map((c) =>
        c.kind === 'keywords' ? { ...c, lexicon: 'keywords.lexicon.json' } : c,
      ),
    };
    const pack = makePack(manifest, base.nets, undefined, {
      keywords: {
        format: 'ppgn-lexicon/1',
        languages: ['es', 'fr'],
        words: { gato: 'cat', Cœur: 'heart', rojo: 'red', x: 'dog' },
      },
    });
    const files = serializePack(pack);
    expect(Object.keys(files)).toContain('keywords.lexicon.json');
    const back = await loadPackFrom(memorySource(files, 'mem'));
    const lex = back.lexicons.keywords!;
    expect(lex.languages).toEqual(['es', 'fr']);
    // keys folded like the tokenizer folds text; an entry for a keyword the vocabulary lacks is dropped
    expect([...lex.words.entries()].sort()).toEqual([
      ['coeur', 'heart'],
      ['gato', 'cat'],
      ['rojo', 'red'],
    ]);
    const noRef = () => new Float32Array(0);
    const r = resolveCondition(back, cond.text('un gato y un corazón rojo'), noRef);
    expect(r.text?.matched).toEqual(['cat', 'red']);
    expect(r.text?.words.find((w) => w.word === 'gato')?.translated).toBe(true);
    // the same text without a lexicon has no known word
    expect(() => resolveCondition(base, cond.text('un gato'), noRef)).toThrow(
      /no word of "un gato" is in the vocabulary/,
    );

    // a broken lexicon file is named with its field
    const broken = {
      ...files,
      'keywords.lexicon.json': new TextEncoder().encode('{"format":"ppgn-lexicon/1","words":{"a":1}}'),
    };
    await expect(loadPackFrom(memorySource(broken, 'mem'))).rejects.toThrow(/mem\/keywords\.lexicon\.json.*words\.a/);
    const { ['keywords.lexicon.json']: _gone, ...missing } = files;
    await expect(loadPackFrom(memorySource(missing, 'mem'))).rejects.toThrow(
      /mem\/keywords\.lexicon\.json: cannot read/,
    );
    base.dispose();
    back.dispose();
  });
});
