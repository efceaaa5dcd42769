import { describe, expect, it } from 'vitest';
import { buildRandomPack, cond, resolveConfig, Condition } from '@ppgn/core';
import { packParams, samplerConfig } from '../src/recipe';
import type { Tunable } from '@ppgn/shared';
import { newRoomState } from '../src/rooms/defaults';

describe('packParams', () => {
  it("maps a pack's class defaults (and its context ε4) to room parameters", () => {
    const pack = buildRandomPack({ name: 'p' }, 1);
    expect(packParams(pack)).toEqual({});
    pack.manifest.defaults = {
      classes: { eps1: 0.002, eps3: 0, lr: 0.1, lrEnd: 0.05, steps: 50, resetEvery: 7 },
      context: { eps4: 0.8 },
    };
    expect(packParams(pack)).toEqual({
      eps1: 0.002,
      eps3: 0,
      lr: 0.1,
      lrEnd: 0.05,
      lrSteps: 50,
      resetEvery: 7,
      eps4: 0.8,
    });
    pack.dispose();
  });
});

describe('samplerConfig: one resolution, pack → kind → what people overrode', () => {
  const pack = buildRandomPack({ name: 'p', hdae: true, fastMlp: true, keywords: ['red'] }, 1);
  pack.manifest.defaults = {
    classes: { eps1: 0.5, eps2: 1, eps3: 0.02, lr: 0.4, lrEnd: 0.1, steps: 200 },
    keywords: { eps1: 0.9, lr: 0.2 },
    context: { eps4: 0.7, eps3: 0, steps: 60 },
    fast: { prior: 'hdae', fastPrior: 0.3, eps1: 0.05, eps2: 1e-4 },
  };
  const room = newRoomState('r', 'r', 'p', packParams(pack));
  const resolve = (params = room.params, c: Condition = cond.class('class1'), overrides: Tunable[] = []) =>
    resolveConfig(pack, c, samplerConfig(params, pack, overrides));

  it('a new room uses the pack settings of the condition kind, ε4 > 0 for inpainting', () => {
    expect(room.params.eps4).toBe(0.7);
    expect(resolve()).toMatchObject({ eps1: 0.5, eps3: 0.02, lr: 0.4, lrEnd: 0.1, steps: 200 });
    expect(resolve(room.params, cond.keywords('red'))).toMatchObject({ eps1: 0.9, lr: 0.2 });
    const ctx = new Condition([
      {
        kind: 'context',
        image: { shape: [16, 16, 3], data: new Float32Array(768) },
        mask: { shape: [16, 16], data: new Float32Array(256).fill(1) },
        weight: 1,
      },
    ]);
    expect(resolve(room.params, ctx)).toMatchObject({ eps4: 0.7, eps3: 0, steps: 60 });
  });

  it('a value someone overrode wins over every pack layer; one they did not is the pack’s', () => {
    const p = { ...room.params, eps1: 0.01, lr: 2 };
    expect(resolve(p, cond.keywords('red'), ['eps1', 'lr'])).toMatchObject({ eps1: 0.01, lr: 2 });
    expect(resolve(p, cond.keywords('red'))).toMatchObject({ eps1: 0.9, lr: 0.2 });
  });

  it('fast mode: pack fast settings; room ε1 → prior weight, ε2 → gradient scale, ε3 → noise std', () => {
    const fast = { ...room.params, mode: 'fast' as const };
    expect(resolve(fast)).toMatchObject({ mode: 'fast', prior: 'hdae', fastPrior: 0.3, eps1: 0.05, eps2: 1e-4 });
    expect(resolve({ ...fast, eps1: 0.9, eps2: 3, eps3: 0.1 }, undefined, ['eps1', 'eps2', 'eps3'])).toMatchObject({
      fastPrior: 0.9,
      eps1: 3,
      eps2: expect.closeTo(0.01, 9),
    });
  });

  it('dgnam: no prior term, L2 decay from the room when changed', () => {
    expect(resolve({ ...room.params, mode: 'dgnam', decay: 0.2 }, undefined, ['decay'])).toMatchObject({
      mode: 'dgnam',
      eps1: 0,
      prior: 'l2',
      decay: 0.2,
    });
  });
});

describe('shortReason', () => {
  it('keeps the backend reason to one readable line', async () => {
    const { shortReason } = await import('../src/runtime');
    expect(
      shortReason({
        backend: 'wasm',
        reason: 'auto: simd=on, threads=off (skipped tensorflow: long text (with parens); webgpu: x)',
        tried: [
          {
            backend: 'tensorflow',
            error:
              "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (install one): Cannot find package '@tensorflow/tfjs-node-gpu'",
          },
          { backend: 'webgpu', error: 'libvulkan.so.1 not found (Dawn needs the Vulkan loader)' },
        ],
      }),
    ).toBe('auto: simd=on, threads=off; skipped tensorflow: not installed; webgpu: libvulkan.so.1 not found');
    expect(shortReason({ backend: 'cpu', reason: 'requested: PPGN_BACKEND=cpu', tried: [] })).toBe(
      'requested: PPGN_BACKEND=cpu',
    );
  });
});
