import { describe, it, expect, beforeAll } from 'vitest';
import {
  cond,
  add,
  Condition,
  createChain,
  stepBatch,
  runChains,
  renderChains,
  encodeImages,
  renderCodes,
  classifyImages,
  conditionObjective,
  snapshotChain,
  restoreChain,
  buildRandomPack,
  tf,
  Rng,
  type ChainState,
  type ChainResult,
  type Pack,
  type CreateChainOptions,
} from '../src/index';
import { useRuntime, smoothPack, linearPack, maxAbsDiff, type RuntimeChoice } from './helpers';

/** The sampler's tests, run on one net runtime (sampler.tfjs.test.ts, sampler.ort.test.ts). */
export function samplerSuite(runtime: RuntimeChoice): void {
  let pack: Pack;
  beforeAll(async () => {
    await useRuntime(runtime);
    pack = buildRandomPack(
      { image: [16, 16, 3], codeDim: 24, keywords: ['red', 'blue', 'star'], hdae: true, fastMlp: true },
      5,
    );
  });

  function mask16(): { shape: number[]; data: Float32Array } {
    return { shape: [16, 16], data: Float32Array.from({ length: 256 }, (_, i) => (Math.floor(i / 16) < 8 ? 1 : 0)) };
  }
  function image16(seed: number) {
    const r = new Rng(seed);
    return { shape: [16, 16, 3], data: Float32Array.from({ length: 768 }, () => r.uniform()) };
  }

  const chainSpecs = (): CreateChainOptions[] => [
    { id: 'a', seed: 11, condition: cond.class('class1'), config: { eps3: 0.05, eps1: 0.1 } },
    {
      id: 'b',
      seed: 12,
      condition: add(cond.keywords('star'), cond.class(3).scale(0.5)),
      config: { lr: 2, lrEnd: 0.5, steps: 10 },
    },
    { id: 'c', seed: 13, condition: cond.unit('conv2', 1), config: { mode: 'dgnam', decay: 0.05 } },
    {
      id: 'd',
      seed: 14,
      condition: add(cond.class('class0'), cond.context(image16(1), mask16())),
      config: { eps4: 1e-3, eps3: 0.02 },
    },
    {
      id: 'e',
      seed: 15,
      condition: cond.class('class2'),
      config: { prior: 'hdae', eps1: 0.3, eps3: 0.1, normalize: false, lr: 0.5 },
    },
    { id: 'f', seed: 16, condition: cond.class('class4'), config: { mode: 'fast', eps1: 0.5, eps2: 1e-3 } },
    { id: 'g', seed: 17, condition: cond.class('class1'), config: { mode: 'mala', stepSize: 0.05 } },
    { id: 'h', seed: 18, condition: cond.class('class1'), config: { mode: 'hmc', stepSize: 0.05, leapfrog: 3 } },
    { id: 'i', seed: 19, condition: cond.class('class3'), config: { eps1: 0.1, eps3: 0.05, jitter: 3 } },
  ];

  describe(`${runtime}: sampler`, () => {
    it('same seed → same codes and images; different seed → different', async () => {
      const run = async (seed: number) => {
        const c = await createChain(pack, { seed, condition: cond.class('class2'), config: { eps3: 0.1, eps1: 0.01 } });
        for (let i = 0; i < 5; i++) await stepBatch(pack, [c]);
        return { h: c.h, img: (await renderChains(pack, [c]))[0] };
      };
      const a = await run(7);
      const b = await run(7);
      const c = await run(8);
      expect(Array.from(a.h)).toEqual(Array.from(b.h));
      expect(Array.from(a.img)).toEqual(Array.from(b.img));
      expect(maxAbsDiff(a.h, c.h)).toBeGreaterThan(1e-3);
    });

    it('a batch of chains (mixed modes, conditions, ε, masks) equals the chains run one by one', async () => {
      const batch: ChainState[] = [];
      const single: ChainState[] = [];
      for (const s of chainSpecs()) {
        batch.push(await createChain(pack, s));
        single.push(await createChain(pack, s));
      }
      const steps = 6;
      const rb: ChainResult[] = [];
      for (let t = 0; t < steps; t++) rb.splice(0, rb.length, ...(await stepBatch(pack, batch)));
      const rs: ChainResult[] = [];
      for (const c of single) {
        let r;
        for (let t = 0; t < steps; t++) r = (await stepBatch(pack, [c]))[0];
        rs.push(r!);
      }
      batch.forEach((c, i) => {
        const scale = Math.max(1, ...Array.from(single[i].h, Math.abs));
        expect(maxAbsDiff(c.h, single[i].h) / scale, `chain ${c.id}`).toBeLessThan(1e-4);
        expect(c.step).toBe(steps);
        expect(c.rng).toEqual(single[i].rng);
        expect(rb[i].pTarget ?? 0).toBeCloseTo(rs[i].pTarget ?? 0, 4);
        expect(rb[i].hNorm).toBeCloseTo(rs[i].hNorm, 2);
      });
      expect(rb[6].acceptRate).toBeGreaterThan(0);
    });

    it('memory stays flat over many steps (tensor count unchanged)', async () => {
      const chains = [];
      for (const s of chainSpecs()) chains.push(await createChain(pack, s));
      await stepBatch(pack, chains, { render: true });
      const n0 = tf.memory().numTensors;
      const b0 = tf.memory().numBytes;
      for (let i = 0; i < 150; i++) await stepBatch(pack, chains, { render: i % 10 === 0 });
      expect(tf.memory().numTensors).toBe(n0);
      expect(tf.memory().numBytes).toBe(b0);
    });

    it('reports per-chain scores, class probabilities and h norms', async () => {
      const c = await createChain(pack, {
        seed: 3,
        condition: add(cond.class('class1'), cond.keywords('red'), cond.unit('conv1', 2)),
      });
      const [r] = await stepBatch(pack, [c]);
      expect(Object.keys(r.scores).sort()).toEqual(['kw(red)', 'p(class1)', 'unit(conv1:2)']);
      expect(r.classProbs).toHaveLength(5);
      expect(r.classProbs!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(r.pTarget).toBeCloseTo(r.classProbs![1], 6);
      expect(r.hNorm).toBeCloseTo(Math.hypot(...c.h), 4);
    });

    it('lists the score names of each term with an id under that id (termScores), in every mode', async () => {
      const condition = add(
        cond.class(['class1', 'class2']).withId('two-classes'),
        cond.keywords(['red', 'star']).withId('kw'),
        cond.text('a blue thing').withId('text'),
        cond.unit('conv1', 2).withId('unit'),
        cond.unit('conv2', 1, { x: 1, y: 0 }).withId('unit-at'),
        cond.imageRef(image16(3)).withId('ref'),
        cond.class('class3'), // no id: scored, but listed under no term
        cond.context(image16(4), mask16()).withId('ctx'),
      );
      for (const mode of ['ppgn', 'mala'] as const) {
        const c = await createChain(pack, { seed: 5, condition, config: { mode } });
        const [r] = await stepBatch(pack, [c]);
        expect(r.termScores).toEqual({
          'two-classes': ['p(class1)', 'p(class2)'],
          kw: ['kw(red)', 'kw(star)'],
          text: ['kw(blue)'],
          unit: ['unit(conv1:2)'],
          'unit-at': ['unit(conv2:1@1,0)'],
          ref: ['refDist(code)'],
          ctx: ['contextError'],
        });
        for (const names of Object.values(r.termScores))
          for (const n of names) expect(r.scores[n]).toEqual(expect.any(Number));
        expect(r.scores['p(class3)']).toEqual(expect.any(Number));
      }
      // terms without ids (the usual library use) list nothing
      const plain = await createChain(pack, { seed: 5, condition: cond.class('class1') });
      expect((await stepBatch(pack, [plain]))[0].termScores).toEqual({});
    });

    it('refuses a term id that is not a non-empty string', async () => {
      const bad = new Condition([{ kind: 'class', labels: ['class1'], variant: 'logsoftmax', weight: 1, id: '' }]);
      await expect(createChain(pack, { seed: 1, condition: bad })).rejects.toThrow(
        /condition\.terms\[0\]\.id must be a non-empty string/,
      );
    });

    it('class conditioning raises p(target) (ppgn, dgnam, fast)', async () => {
      for (const mode of ['ppgn', 'dgnam', 'fast'] as const) {
        const c = await createChain(pack, {
          seed: 4,
          condition: cond.class('class3'),
          config: { mode, ...(mode === 'fast' ? { eps1: 2, eps2: 0 } : { lr: 0.5 }) },
        });
        const first = (await stepBatch(pack, [c]))[0].pTarget!;
        const { results } = await runChains(pack, [c], { steps: 30 });
        expect(results[0].pTarget!, mode).toBeGreaterThan(Math.max(first, 0.5));
      }
    });

    it('classifyImages says what a picture looks like: the class a chain was steered to comes out on top', async () => {
      const c = await createChain(pack, { seed: 4, condition: cond.class('class3'), config: { lr: 0.5 } });
      await runChains(pack, [c], { steps: 30 });
      const [img] = await renderCodes(pack, [c.h]);
      const [all] = await classifyImages(pack, [img!], { k: 99 });
      const labels = (pack.manifest.conditions[0] as { labels: string[] }).labels;
      expect(all!.map((x) => x.label).sort()).toEqual([...labels].sort());
      expect(all!.reduce((a, x) => a + x.p, 0)).toBeCloseTo(1, 5);
      expect(all!.map((x) => x.p)).toEqual([...all!.map((x) => x.p)].sort((a, b) => b - a));
      expect(all![0]!.label).toBe('class3');
      // the chain's own score of its target is the same probability
      const pTarget = (await stepBatch(pack, [c]))[0]!.pTarget!;
      const [after] = await classifyImages(pack, await renderCodes(pack, [c.h]));
      expect(after).toHaveLength(3);
      expect(Math.abs(after!.find((x) => x.label === 'class3')!.p - pTarget)).toBeLessThan(0.05);
      await expect(classifyImages(pack, [img!], { condition: 'nope' })).rejects.toThrow(/no class condition "nope"/);
    });

    it('clips h to the code range and applies reset_every', async () => {
      const c = await createChain(pack, {
        seed: 5,
        condition: cond.class('class0'),
        config: { clip: [0, 0.3], resetEvery: 3, eps3: 1 },
      });
      const hs: Float32Array[] = [];
      for (let i = 0; i < 4; i++) {
        await stepBatch(pack, [c]);
        hs.push(Float32Array.from(c.h));
        expect(Math.min(...c.h)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...c.h)).toBeLessThanOrEqual(Math.fround(0.3));
      }
      expect(c.step).toBe(4);
      // with lr = 0 a step leaves h where it is, so any change is a reset: h is redrawn when a step
      // starts at a multiple of resetEvery (steps 3 and 6), and only then; a twin without resets never moves
      const still = { clip: [-5, 5] as [number, number], lr: 0, lrEnd: 0, eps3: 1 };
      const r = await createChain(pack, {
        seed: 6,
        condition: cond.class('class0'),
        config: { ...still, resetEvery: 3 },
      });
      const twin = await createChain(pack, {
        seed: 6,
        condition: cond.class('class0'),
        config: { ...still, resetEvery: 0 },
      });
      const h0 = Float32Array.from(r.h);
      const seen: Float32Array[] = [];
      for (let i = 0; i < 7; i++) {
        await stepBatch(pack, [r, twin]);
        seen.push(Float32Array.from(r.h));
        expect(twin.h).toEqual(h0);
      }
      expect(seen.slice(0, 3)).toEqual([h0, h0, h0]);
      expect(maxAbsDiff(seen[3]!, h0)).toBeGreaterThan(0.1);
      expect(seen.slice(4, 6)).toEqual([seen[3], seen[3]]);
      expect(maxAbsDiff(seen[6]!, seen[3]!)).toBeGreaterThan(0.1);
    });

    it('starts from an image: h₀ = E(x)', async () => {
      const img = image16(3);
      const [code] = await encodeImages(pack, [img.data]);
      const c = await createChain(pack, { seed: 1, image: img, condition: cond.class('class0') });
      expect(maxAbsDiff(c.h, code)).toBe(0);
    });

    it('snapshot / restore continues identically', async () => {
      const a = await createChain(pack, { seed: 9, condition: cond.class('class2'), config: { eps3: 0.1, eps1: 0.1 } });
      await stepBatch(pack, [a]);
      const b = await restoreChain(pack, { ...JSON.parse(JSON.stringify(snapshotChain(a))), id: 'copy' });
      for (let i = 0; i < 3; i++) await stepBatch(pack, [a, b]);
      expect(maxAbsDiff(a.h, b.h)).toBe(0);
    });

    it('inpainting keeps known pixels and pulls G(h) towards the context', async () => {
      const ctx = image16(21);
      const c = await createChain(pack, {
        seed: 2,
        condition: add(cond.class('class1'), cond.context(ctx, mask16())),
        config: { eps2: 0, eps4: 1, eps1: 0, lr: 0.05 },
      });
      const first = (await stepBatch(pack, [c]))[0].scores.contextError;
      let last = first;
      for (let i = 0; i < 15; i++) last = (await stepBatch(pack, [c]))[0].scores.contextError;
      expect(last).toBeLessThan(first * 0.9);
      const [img] = await renderChains(pack, [c]);
      const m = mask16().data;
      for (let p = 0; p < 256; p++)
        for (let k = 0; k < 3; k++) if (m[p]) expect(Math.abs(img[p * 3 + k] - ctx.data[p * 3 + k])).toBeLessThan(1e-6);
      // unknown pixels come from G(h)
      const [raw] = await renderCodes(pack, [c.h]);
      expect(img[200 * 3]).toBeCloseTo(raw[200 * 3], 6);
    });
  });

  describe(`${runtime}: stationary distributions (linear G, E = G⁻¹, linear softmax classifier)`, () => {
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    /** posterior mean of t = u·h under p(t) ∝ σ(k t) φ(t):  E[t] = 2k·E_φ[σ(kt)(1 − σ(kt))] (Stein) */
    function posteriorMeanAlongA(k: number): number {
      let s = 0;
      const dt = 1e-3;
      for (let t = -10; t <= 10; t += dt)
        s += ((sigmoid(k * t) * (1 - sigmoid(k * t)) * Math.exp((-t * t) / 2)) / Math.sqrt(2 * Math.PI)) * dt;
      return 2 * k * s;
    }

    async function exactMean(mode: 'mala' | 'hmc', steps: number, burn: number, extra: object) {
      const { pack: lin, a } = linearPack();
      const chains = [];
      for (let i = 0; i < 48; i++)
        chains.push(
          await createChain(lin, { seed: 100 + i, condition: cond.class('pos'), config: { mode, ...extra } }),
        );
      const sum = new Float64Array(4);
      let n = 0;
      for (let s = 0; s < steps; s++) {
        await stepBatch(lin, chains);
        if (s >= burn) for (const c of chains) for (let i = 0; i < 4; i++, n += i === 4 ? 1 : 0) sum[i] += c.h[i];
      }
      const mean = Array.from(sum, (v) => v / n);
      const k = Math.hypot(...a);
      const m = posteriorMeanAlongA(k);
      const expected = a.map((v) => (v / k) * m);
      const rate = chains.reduce((s, c) => s + c.accepted / c.proposed, 0) / chains.length;
      lin.dispose();
      return { mean, expected, rate };
    }

    it('MALA with Metropolis–Hastings converges to the posterior mean under N(0, I)', async () => {
      const { mean, expected, rate } = await exactMean('mala', 500, 100, { stepSize: 0.4 });
      expect(rate).toBeGreaterThan(0.5);
      expect(rate).toBeLessThan(1);
      for (let i = 0; i < 4; i++)
        expect(Math.abs(mean[i] - expected[i]), `dim ${i}: ${mean[i]} vs ${expected[i]}`).toBeLessThan(0.06);
    });

    it('HMC converges to the same posterior mean', async () => {
      const { mean, expected, rate } = await exactMean('hmc', 150, 30, { stepSize: 0.3, leapfrog: 5 });
      expect(rate).toBeGreaterThan(0.7);
      for (let i = 0; i < 4; i++)
        expect(Math.abs(mean[i] - expected[i]), `dim ${i}: ${mean[i]} vs ${expected[i]}`).toBeLessThan(0.06);
    });

    it('MALA-approx (ppgn mode, R = E∘G = identity) with a Gaussian image-reference term is an AR(1) with known mean and variance', async () => {
      // E∘G = id ⇒ ε1·(R(h) − h) = 0. Condition −w‖E(G(h)) − f‖² = −w‖h − f‖². Without normalisation:
      // h' = h − 2wε2 (h − f) + ε3 ξ  ⇒ stationary N(f, ε3² / (1 − ρ²)), ρ = 1 − 2wε2.
      const { pack: lin } = linearPack();
      const f = new Float32Array([0.3, -0.2, 0.1, 0.25]);
      const [ref] = await renderCodes(lin, [f]);
      const eps2 = 0.1;
      const eps3 = 0.6;
      const rho = 1 - 2 * eps2;
      const variance = (eps3 * eps3) / (1 - rho * rho);
      const chains = [];
      for (let i = 0; i < 48; i++)
        chains.push(
          await createChain(lin, {
            seed: 500 + i,
            condition: cond.imageRef({ shape: [2, 2, 1], data: ref }),
            config: { eps1: 1, eps2, eps3, normalize: false, lr: 1, clip: null },
          }),
        );
      const s1 = new Float64Array(4);
      const s2 = new Float64Array(4);
      let n = 0;
      for (let s = 0; s < 300; s++) {
        await stepBatch(lin, chains);
        if (s < 30) continue;
        for (const c of chains) {
          for (let i = 0; i < 4; i++) {
            s1[i] += c.h[i];
            s2[i] += c.h[i] * c.h[i];
          }
          n++;
        }
      }
      for (let i = 0; i < 4; i++) {
        const m = s1[i] / n;
        const v = s2[i] / n - m * m;
        expect(Math.abs(m - f[i]), `mean ${i}`).toBeLessThan(0.05);
        expect(Math.abs(v / variance - 1), `var ${i}: ${v} vs ${variance}`).toBeLessThan(0.1);
      }
      lin.dispose();
    });
  });

  describe(`${runtime}: smooth pack sanity`, () => {
    it('keyword and unit conditioning increase their scores', async () => {
      const sp = smoothPack(3);
      const c1 = await createChain(sp, { seed: 1, condition: cond.keywords('heart'), config: { lr: 0.05 } });
      const c2 = await createChain(sp, { seed: 1, condition: cond.unit('t1', 2), config: { lr: 0.05 } });
      const r0 = await stepBatch(sp, [c1, c2]);
      const { results } = await runChains(sp, [c1, c2], { steps: 25 });
      expect(results[0].scores['kw(heart)']).toBeGreaterThan(r0[0].scores['kw(heart)']);
      expect(results[1].scores['unit(t1:2)']).toBeGreaterThan(r0[1].scores['unit(t1:2)']);
      sp.dispose();
    });
  });

  describe(`${runtime}: fast mode with the h-DAE prior, and per-mode pack defaults`, () => {
    it('fastPrior·(hdae(h) − h) is added to the SGLD step (no gradient, no noise: h moves exactly that far)', async () => {
      const h0 = Float32Array.from({ length: pack.codeDim }, (_, i) => 0.5 + 0.1 * Math.sin(i));
      const mk = (fastPrior: number) =>
        createChain(pack, {
          seed: 3,
          h0,
          condition: cond.class('class1'),
          config: { mode: 'fast', prior: 'hdae', fastPrior, eps1: 0, eps2: 0, clip: null },
        });
      const plain = await mk(0);
      await stepBatch(pack, [plain]);
      expect(maxAbsDiff(plain.h, h0)).toBe(0);
      const withPrior = await mk(0.5);
      await stepBatch(pack, [withPrior]);
      const r = tf.tidy(() => pack.hdae!.apply(tf.tensor2d(h0, [1, pack.codeDim])).output.dataSync()) as Float32Array;
      const want = h0.map((v, i) => v + 0.5 * (r[i] - v));
      expect(maxAbsDiff(withPrior.h, want)).toBeLessThan(1e-5);
    });

    it("a pack's mode defaults (fast, dgnam) apply in that mode, and the user still overrides them", async () => {
      const p = buildRandomPack({ image: [16, 16, 3], codeDim: 8, hdae: true, fastMlp: true }, 2);
      p.manifest.defaults = {
        fast: { prior: 'hdae', fastPrior: 0.3, eps1: 0.2, eps2: 1e-4 },
        dgnam: { decay: 0.05, lr: 0.3 },
      };
      const f = await createChain(p, { condition: cond.class('class1'), config: { mode: 'fast' } });
      expect(f.config).toMatchObject({ prior: 'hdae', fastPrior: 0.3, eps1: 0.2, eps2: 1e-4 });
      const u = await createChain(p, { condition: cond.class('class1'), config: { mode: 'fast', fastPrior: 0.7 } });
      expect(u.config.fastPrior).toBe(0.7);
      const d = await createChain(p, { condition: cond.class('class1'), config: { mode: 'dgnam' } });
      expect(d.config).toMatchObject({ decay: 0.05, lr: 0.3, eps1: 0, prior: 'l2' });
      const g = await createChain(p, { condition: cond.class('class1') });
      expect(g.config.lr).toBe(1); // ppgn ignores the other modes' settings
      p.dispose();
    });
  });

  describe(`${runtime}: transformation robustness (jitter)`, () => {
    const steer = async (seed: number, config: CreateChainOptions['config'], steps = 5) => {
      const c = await createChain(pack, { seed, condition: cond.class('class2'), config });
      for (let i = 0; i < steps; i++) await stepBatch(pack, [c]);
      return c;
    };

    it('offsets come from the chain’s RNG: same seed → same chain; jitter changes the chain', async () => {
      const a = await steer(7, { eps1: 0.1, eps3: 0.05, jitter: 2 });
      const b = await steer(7, { eps1: 0.1, eps3: 0.05, jitter: 2 });
      const plain = await steer(7, { eps1: 0.1, eps3: 0.05 });
      expect(Array.from(a.h)).toEqual(Array.from(b.h));
      expect(a.rng).toEqual(b.rng);
      expect(maxAbsDiff(a.h, plain.h)).toBeGreaterThan(1e-3);
    });

    it('only the condition nets see the shifted picture: with ε2 = 0 and no noise, jitter changes nothing', async () => {
      // the prior's E(G(h)) reads G(h) as it is; were it shifted, the chains would part at the first step
      const cfg = { eps1: 0.3, eps2: 0, eps3: 0 };
      const a = await steer(4, { ...cfg, jitter: 4 }, 3);
      const b = await steer(4, cfg, 3);
      expect(maxAbsDiff(a.h, b.h)).toBeLessThan(1e-6);
    });

    it('the class probabilities shown read the picture as it is, not the shifted view', async () => {
      const cfg = { eps1: 0.1, eps3: 0.05 };
      const a = await createChain(pack, { seed: 30, condition: cond.class('class1'), config: { ...cfg, jitter: 4 } });
      const b = await createChain(pack, { seed: 30, condition: cond.class('class1'), config: cfg });
      const [ra, rb] = await stepBatch(pack, [a, b]);
      expect(ra.classProbs).toHaveLength(5);
      ra.classProbs!.forEach((p, i) => expect(p).toBeCloseTo(rb.classProbs![i], 6));
    });

    it('a shifted step moves h along the rolled-back gradient of the shifted objective', async () => {
      // no prior, no noise, lr·d without normalisation: h₁ − h₀ = lr·ε2·∇h log p(y | roll(G(h₀), offset)).
      // The offset is the first two uniform draws of the chain's RNG, as the sampler draws them.
      const J = 3;
      const c = await createChain(pack, {
        seed: 21,
        condition: cond.class('class4'),
        config: { eps1: 0, eps3: 0, lr: 0.5, lrEnd: 0.5, normalize: false, clip: null, jitter: J },
      });
      const rng = new Rng(c.rng);
      const off = [rng.uniform(), rng.uniform()].map((u) => Math.floor(u * (2 * J + 1)) - J) as [number, number];
      const h0 = Float32Array.from(c.h);
      await stepBatch(pack, [c]);
      const { grads } = await conditionObjective(pack, cond.class('class4'), [h0], { shift: off });
      const want = h0.map((v, i) => v + 0.5 * grads[0][i]);
      expect(maxAbsDiff(c.h, want)).toBeLessThan(1e-5);
      if (off[0] !== 0 || off[1] !== 0) {
        const { grads: g0 } = await conditionObjective(pack, cond.class('class4'), [h0]);
        expect(maxAbsDiff(grads[0], g0[0])).toBeGreaterThan(1e-6);
      }
    });

    it('refuses a jitter that is not a whole number of pixels or is over a quarter of the picture', async () => {
      for (const jitter of [1.5, -1, 5, Number.NaN])
        await expect(
          createChain(pack, { condition: cond.class('class1'), config: { jitter } }),
          String(jitter),
        ).rejects.toThrow(/jitter must be/);
    });

    it("a pack's tuned jitter applies to its class conditions, and the user overrides it", async () => {
      const p = buildRandomPack({ image: [16, 16, 3], codeDim: 8, fastMlp: true }, 3);
      p.manifest.defaults = { classes: { jitter: 2 } };
      expect((await createChain(p, { condition: cond.class('class1') })).config.jitter).toBe(2);
      expect((await createChain(p, { condition: cond.class('class1'), config: { jitter: 0 } })).config.jitter).toBe(0);
      expect((await createChain(p, { condition: cond.class('class1'), config: { mode: 'fast' } })).config.jitter).toBe(
        0,
      );
      p.dispose();
    });
  });

  describe(`${runtime}: chains without conditions`, () => {
    it('a batch in which no chain has a condition steps (prior and noise only) instead of throwing', async () => {
      const a = await createChain(pack, { seed: 1, condition: cond.none(), config: { eps1: 0.1, eps3: 0.05 } });
      const b = await createChain(pack, { seed: 2, condition: cond.none(), config: { mode: 'dgnam', eps3: 0.05 } });
      const h0 = Float32Array.from(a.h);
      const r = await stepBatch(pack, [a, b]);
      expect(r.map((x) => x.step)).toEqual([1, 1]);
      expect(maxAbsDiff(a.h, h0)).toBeGreaterThan(0);
      for (const x of r) expect(Number.isFinite(x.hNorm)).toBe(true);
    });
  });
}
