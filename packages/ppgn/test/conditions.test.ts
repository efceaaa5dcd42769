import { describe, it, expect, beforeAll } from 'vitest';
import {
  cond,
  add,
  conditionObjective,
  rollImages,
  matchText,
  Rng,
  PpgnInputError,
  createChain,
  stepBatch,
  tf,
  type Condition,
  type Pack,
} from '../src/index';
import { useCpu, smoothPack } from './helpers';

let pack: Pack;
beforeAll(async () => {
  await useCpu();
  pack = smoothPack(2);
});

function randomImage(seed: number, shape: number[] = [8, 8, 3]) {
  const r = new Rng(seed);
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform()) };
}

/** central finite differences along random directions vs the analytic gradient */
async function gradCheck(c: Condition, opts: { eps4?: number; shift?: [number, number] } = {}) {
  const rng = new Rng(42);
  const D = pack.codeDim;
  const h = rng.normals(new Float32Array(D), 0.7);
  const { values, grads } = await conditionObjective(pack, c, [h], opts);
  expect(Number.isFinite(values[0])).toBe(true);
  const g = grads[0];
  expect(g.some((v) => v !== 0)).toBe(true);
  const delta = 1e-2;
  for (let k = 0; k < 4; k++) {
    const v = rng.normals(new Float32Array(D));
    const hp = h.map((x, i) => x + delta * v[i]);
    const hm = h.map((x, i) => x - delta * v[i]);
    const { values: vv } = await conditionObjective(pack, c, [hp, hm], opts);
    const fd = (vv[0] - vv[1]) / (2 * delta);
    const an = g.reduce((s, x, i) => s + x * v[i], 0);
    expect(Math.abs(fd - an)).toBeLessThan(3e-3 * (1 + Math.abs(an)));
  }
}

describe('condition gradients match finite differences', () => {
  it('class, log-softmax (default)', () => gradCheck(cond.class('dog')));
  it('class, several labels', () => gradCheck(cond.class(['cat', 2])));
  it('class, logit variant', () => gradCheck(cond.class('cat', { variant: 'logit' })));
  it('class, softmax variant', () => gradCheck(cond.class('cat', { variant: 'softmax' })));
  it('keywords (sum of log-sigmoid)', () => gradCheck(cond.keywords(['red', 'star'])));
  it('free text', () => gradCheck(cond.text('a happy red star')));
  it('hidden unit, channel mean', () => gradCheck(cond.unit('t1', 2)));
  it('hidden unit at x,y', () => gradCheck(cond.unit('t1', 1, { x: 2, y: 3 })));
  it('hidden unit of a dense layer', () => gradCheck(cond.unit('code', 4)));
  it('image reference', () => gradCheck(cond.imageRef(randomImage(5))));
  it('context (inpainting) term', () => {
    const mask = { shape: [8, 8], data: Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)) };
    return gradCheck(cond.context(randomImage(7), mask), { eps4: 1 });
  });
  it('class, with the picture shifted (jitter): the gradient is rolled back', () =>
    gradCheck(cond.class('dog'), { shift: [2, -3] }));
  it('hidden unit at x,y, shifted', () => gradCheck(cond.unit('t1', 1, { x: 2, y: 3 }), { shift: [-1, 1] }));
  it('context term with the classifier reading a shifted picture', () => {
    const mask = { shape: [8, 8], data: Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)) };
    return gradCheck(add(cond.class('cat'), cond.context(randomImage(7), mask)), { eps4: 1, shift: [3, 2] });
  });
  it('a shift changes what a position-dependent condition sees; a shift by the whole picture changes nothing', async () => {
    const c = cond.unit('t1', 1, { x: 2, y: 3 });
    const h = new Rng(8).normals(new Float32Array(pack.codeDim), 0.7);
    const plain = await conditionObjective(pack, c, [h]);
    const shifted = await conditionObjective(pack, c, [h], { shift: [1, 2] });
    const whole = await conditionObjective(pack, c, [h], { shift: [8, -8] });
    expect(Math.abs(shifted.values[0] - plain.values[0])).toBeGreaterThan(1e-4);
    expect(whole.values[0]).toBeCloseTo(plain.values[0], 5);
    for (let i = 0; i < pack.codeDim; i++) expect(whole.grads[0][i]).toBeCloseTo(plain.grads[0][i], 5);
  });
  it('weighted sum of terms = sum of weighted gradients', async () => {
    const a = cond.class('cat');
    const b = cond.keywords('heart');
    const h = new Rng(3).normals(new Float32Array(6));
    const sum = await conditionObjective(pack, add(a.scale(2), b.scale(-0.5)), [h]);
    const ga = await conditionObjective(pack, a, [h]);
    const gb = await conditionObjective(pack, b, [h]);
    expect(sum.values[0]).toBeCloseTo(2 * ga.values[0] - 0.5 * gb.values[0], 4);
    for (let i = 0; i < 6; i++) expect(sum.grads[0][i]).toBeCloseTo(2 * ga.grads[0][i] - 0.5 * gb.grads[0][i], 4);
  });
  it('conditions paste context pixels before the classifier sees the image', async () => {
    // with every pixel known, the classifier sees only the context image: no gradient from it
    const full = { shape: [8, 8], data: new Float32Array(64).fill(1) };
    const c = add(cond.class('cat'), cond.context(randomImage(9), full));
    const h = new Rng(4).normals(new Float32Array(6));
    const r = await conditionObjective(pack, c, [h], { eps4: 0 });
    expect(Math.max(...r.grads[0].map(Math.abs))).toBe(0);
  });
});

describe('rollImages', () => {
  it('moves pixel (y, x) to (y + dy, x + dx) mod the size, per picture, and −1 undoes it', () => {
    const shape = [3, 4, 2] as const;
    const n = 3 * 4 * 2;
    const a = Float32Array.from({ length: 2 * n }, (_, i) => i);
    const shifts: [number, number][] = [
      [1, -1],
      [-4, 6],
    ];
    const r = rollImages(a, shape, shifts, 1);
    shifts.forEach(([dy, dx], b) => {
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 4; x++)
          for (let c = 0; c < 2; c++) {
            const ty = (((y + dy) % 3) + 3) % 3;
            const tx = (((x + dx) % 4) + 4) % 4;
            expect(r[b * n + (ty * 4 + tx) * 2 + c]).toBe(a[b * n + (y * 4 + x) * 2 + c]);
          }
    });
    expect(Array.from(rollImages(r, shape, shifts, -1))).toEqual(Array.from(a));
  });
});

describe('text matching', () => {
  it('matches words, bigrams and plurals; reports unknown words with nearest ones', () => {
    const m = matchText('Two happy stars eating ice cream, hart', ['red', 'happy', 'ice cream', 'star', 'heart']);
    expect(m.matched).toEqual(['happy', 'star', 'ice cream']);
    const unk = Object.fromEntries(m.unknown.map((u) => [u.word, u.nearest]));
    expect(Object.keys(unk)).toEqual(['two', 'eating', 'hart']);
    expect(unk.hart[0]).toBe('heart');
  });
  it('text with no known word is rejected with suggestions', async () => {
    await expect(createChain(pack, { condition: cond.text('hapy'), seed: 1 })).rejects.toThrow(/did you mean happy/);
    // no random suggestions for words far from every entry
    await expect(createChain(pack, { condition: cond.text('zzqx'), seed: 1 })).rejects.toThrow(
      /"zzqx" is not a known word$/,
    );
    // a long text names each unknown word once, at most 8, and quotes the text shortened
    const words = Array.from({ length: 12 }, (_, i) => `zq${String.fromCharCode(97 + i)}x`);
    const long = Array.from({ length: 10 }, () => words.join(' ')).join(' ');
    const err = await createChain(pack, { condition: cond.text(long), seed: 1 }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/^no word of "zqax zqbx .{30,60}…" is in the vocabulary/);
    expect(err!.match(/"zqax" is not a known word/g)).toHaveLength(1);
    expect(err).toMatch(/; and 4 more unknown words$/);
  });
  it('warnings for unknown words are returned with step results', async () => {
    const ch = await createChain(pack, { condition: cond.text('happy zebra'), seed: 1 });
    const [r] = await stepBatch(pack, [ch]);
    expect(r.warnings?.[0]).toMatch(/unknown word "zebra"/);
  });
});

describe('bad inputs throw PpgnInputError and leave the engine usable', () => {
  const bad: [string, () => Promise<unknown>][] = [
    ['unknown label', () => createChain(pack, { condition: cond.class('zebra') })],
    ['label index out of range', () => createChain(pack, { condition: cond.class(7) })],
    ['unknown keyword', () => createChain(pack, { condition: cond.keywords('blue') })],
    ['NaN eps', () => createChain(pack, { condition: cond.class('cat'), config: { eps2: NaN } })],
    ['negative eps', () => createChain(pack, { condition: cond.class('cat'), config: { eps3: -1 } })],
    ['negative steps', () => createChain(pack, { condition: cond.class('cat'), config: { steps: -5 } })],
    ['fractional steps', () => createChain(pack, { condition: cond.class('cat'), config: { steps: 2.5 } })],
    ['bad mode', () => createChain(pack, { condition: cond.class('cat'), config: { mode: 'warp' as never } })],
    ['clip min >= max', () => createChain(pack, { condition: cond.class('cat'), config: { clip: [3, 1] } })],
    ['hdae prior without hdae', () => createChain(pack, { condition: cond.class('cat'), config: { prior: 'hdae' } })],
    ['fast mode without fastMlp', () => createChain(pack, { condition: cond.class('cat'), config: { mode: 'fast' } })],
    [
      'wrong mask size',
      () =>
        createChain(pack, { condition: cond.context(randomImage(1), { shape: [4, 4], data: new Float32Array(16) }) }),
    ],
    [
      'mask data length',
      () =>
        createChain(pack, { condition: cond.context(randomImage(1), { shape: [8, 8], data: new Float32Array(10) }) }),
    ],
    [
      'NaN in image',
      () =>
        createChain(pack, { condition: cond.imageRef({ shape: [8, 8, 3], data: new Float32Array(192).fill(NaN) }) }),
    ],
    ['unknown layer', () => createChain(pack, { condition: cond.unit('conv9', 0) })],
    ['channel out of range', () => createChain(pack, { condition: cond.unit('t1', 4) })],
    ['unit x without y', () => createChain(pack, { condition: cond.unit('t1', 0, { x: 1 }) })],
    ['NaN weight', () => createChain(pack, { condition: cond.class('cat').scale(NaN) })],
    ['unknown condition id', () => createChain(pack, { condition: cond.class('cat', { condition: 'nope' }) })],
    ['h0 wrong size', () => createChain(pack, { condition: cond.class('cat'), h0: [1, 2] })],
    ['seed not a number', () => createChain(pack, { condition: cond.class('cat'), seed: NaN })],
  ];
  for (const [name, f] of bad) {
    it(name, async () => {
      const err = await (async () => f())().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PpgnInputError);
      expect((err as Error).message.length).toBeGreaterThan(10);
    });
  }
  it('the message names the problem clearly', async () => {
    await expect(createChain(pack, { condition: cond.class('zebra') })).rejects.toThrow(/unknown class label "zebra"/);
    await expect(createChain(pack, { condition: cond.class('cat'), config: { steps: -5 } })).rejects.toThrow(
      /steps must be >= 1/,
    );
    await expect(
      createChain(pack, { condition: cond.context(randomImage(1), { shape: [4, 4], data: new Float32Array(16) }) }),
    ).rejects.toThrow(/mask has shape \[4, 4\] but the pack image is \[8, 8, 3\]/);
  });
  it('a bad chain in a batch advances nothing, then the engine still works with no leaked tensors', async () => {
    const good = await createChain(pack, { condition: cond.class('cat'), seed: 1 });
    await stepBatch(pack, [good]);
    const n0 = tf.memory().numTensors;
    const bad = await createChain(pack, { condition: cond.class('dog'), seed: 2 });
    bad.config = { ...bad.config, eps1: -1 };
    const h0 = Float32Array.from(good.h);
    await expect(stepBatch(pack, [good, bad])).rejects.toBeInstanceOf(PpgnInputError);
    expect(Array.from(good.h)).toEqual(Array.from(h0));
    expect(good.step).toBe(1);
    bad.condition = cond.class('nope');
    bad.config = { ...bad.config, eps1: 0 };
    await expect(stepBatch(pack, [good, bad])).rejects.toThrow(/unknown class label/);
    const [r] = await stepBatch(pack, [good]);
    expect(r.step).toBe(2);
    expect(tf.memory().numTensors).toBe(n0);
  });
});
