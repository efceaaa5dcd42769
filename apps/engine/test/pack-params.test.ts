import { describe, expect, it } from 'vitest';
import { buildRandomPack } from '@ppgn/core';
import { packParams } from '../src/rooms/manager';

describe('packParams', () => {
  it("maps a pack's class defaults to room parameters", () => {
    const pack = buildRandomPack({ name: 'p' }, 1);
    expect(packParams(pack)).toEqual({});
    pack.manifest.defaults = { classes: { eps1: 0.002, eps3: 0, lr: 0.1, lrEnd: 0.05, steps: 50, resetEvery: 7 } } as typeof pack.manifest.defaults;
    expect(packParams(pack)).toEqual({ eps1: 0.002, eps3: 0, lr: 0.1, lrEnd: 0.05, lrSteps: 50, resetEvery: 7 });
    pack.dispose();
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
          { backend: 'tensorflow', error: "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (install one): Cannot find package '@tensorflow/tfjs-node-gpu'" },
          { backend: 'webgpu', error: 'libvulkan.so.1 not found (Dawn needs the Vulkan loader)' },
        ],
      }),
    ).toBe('auto: simd=on, threads=off; skipped tensorflow: not installed; webgpu: libvulkan.so.1 not found');
    expect(shortReason({ backend: 'cpu', reason: 'requested: PPGN_BACKEND=cpu', tried: [] })).toBe('requested: PPGN_BACKEND=cpu');
  });
});
