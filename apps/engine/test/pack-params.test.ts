import { describe, expect, it } from 'vitest';
import { buildRandomPack } from '@ppgn/core';
import { packParams } from '../src/rooms/manager';

describe('packParams', () => {
  it("maps a pack's class defaults to room parameters", () => {
    const pack = buildRandomPack({ name: 'p' }, 1);
    expect(packParams(pack)).toEqual({});
    pack.manifest.defaults = { classes: { eps1: 0.002, eps3: 0, lr: 0.1, lrEnd: 0.05, steps: 50, resetEvery: 7 } };
    expect(packParams(pack)).toEqual({ eps1: 0.002, eps3: 0, lr: 0.1, lrEnd: 0.05, lrSteps: 50, resetEvery: 7 });
    pack.dispose();
  });
});
