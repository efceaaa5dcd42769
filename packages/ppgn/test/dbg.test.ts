import { it } from 'vitest';
import { cond, add, createChain, stepBatch, buildRandomPack, Rng } from '../src/index';
import { useCpu } from './helpers';
it('dbg', async () => {
  await useCpu();
  const pack = buildRandomPack({ image: [16, 16, 3], codeDim: 24, keywords: ['red', 'blue', 'star'], hdae: true, fastMlp: true }, 5);
  const r = new Rng(21);
  const ctx = { shape: [16, 16, 3], data: Float32Array.from({ length: 768 }, () => r.uniform()) };
  const mask = { shape: [16, 16], data: Float32Array.from({ length: 256 }, (_, i) => (Math.floor(i / 16) < 8 ? 1 : 0)) };
  for (const cfg of [{ eps2: 0, eps4: 1, eps1: 0, lr: 0.05 }, { eps2: 0, eps4: 1, eps1: 0, lr: 0.01, normalize: false }, { eps2: 0, eps4: 1, eps1: 0, lr: 0.001, normalize: false }]) {
    const c = await createChain(pack, { seed: 2, condition: add(cond.class('class1'), cond.context(ctx, mask)), config: cfg });
    const seq = [];
    for (let i = 0; i < 10; i++) seq.push((await stepBatch(pack, [c]))[0].scores.contextError.toFixed(2));
    console.log('SEQ', JSON.stringify(c.config), seq.join(' '), Array.from(c.h).map(v=>v.toFixed(2)).join(','));
  }
});
