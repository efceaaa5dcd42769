// What the studio's panel shows (state.effective, derived by the room model on every change) against what the
// sampler runs with (the worker's resolution: samplerConfig → @ppgn/core resolveConfig), for every mode and
// condition kind, through mode switches, overrides and their undo.
import { describe, expect, it } from 'vitest';
import { buildRandomPack, resolveConfig, type Pack } from '@ppgn/core';
import type { Intent, RoomState, SamplerMode, Tunable } from '@ppgn/shared';
import { RoomModel, type Actor } from '../src/rooms/model';
import { newRoomState } from '../src/rooms/defaults';
import {
  effectiveSettings,
  overridesOf,
  packParams,
  roomCondition,
  samplerConfig,
  samplingProblem,
} from '../src/recipe';

const ed: Actor = { userId: 'ed', name: 'Ed', role: 'editor' };

function tunedPack(): Pack {
  const pack = buildRandomPack({ name: 'p', hdae: true, fastMlp: true, keywords: ['red', 'blue'] }, 1);
  pack.manifest.defaults = {
    classes: { eps1: 0.5, eps2: 1, eps3: 0.02, lr: 0.4, lrEnd: 0.1, steps: 200, jitter: 2 },
    keywords: { eps1: 0.9, lr: 0.2 },
    context: { eps4: 0.7, eps3: 0, steps: 60 },
    fast: { prior: 'hdae', fastPrior: 0.3, eps1: 0.05, eps2: 1e-4 },
  };
  return pack;
}

function model(pack: Pack): RoomModel {
  const state = newRoomState('r', 'r', 'p', packParams(pack));
  state.overrides = overridesOf(state.params, pack);
  return new RoomModel(
    state,
    () => null,
    (s) => samplingProblem(s, pack),
    (s) => ({ effective: effectiveSettings(s, pack) }),
  );
}

/** The sampler's own resolution of a state, in the room's terms (as the worker configures the chain). */
function samplerRuns(state: RoomState, pack: Pack): Record<Tunable, number> {
  const [H, W, C] = pack.imageShape;
  const context = state.context && state.strokes.length ? { image: new Float32Array(H * W * C) } : null;
  const cfg = resolveConfig(
    pack,
    roomCondition(state, pack, context, true),
    samplerConfig(state.params, pack, state.overrides),
  );
  const fast = state.params.mode === 'fast';
  return {
    eps1: fast ? cfg.fastPrior : cfg.eps1,
    eps2: fast ? cfg.eps1 : cfg.eps2,
    eps3: fast ? Math.sqrt(cfg.eps2) : cfg.eps3,
    eps4: cfg.eps4,
    lr: cfg.lr,
    lrEnd: cfg.lrEnd,
    lrSteps: cfg.steps,
    decay: cfg.decay,
    resetEvery: cfg.resetEvery,
    stepSize: cfg.stepSize,
    leapfrog: cfg.leapfrog,
    jitter: cfg.jitter,
  };
}

const cls: Intent = {
  type: 'condition.add',
  id: 'c',
  weight: 1,
  target: { kind: 'class', condition: 'class', labels: ['class1'], variant: 'logsoftmax' },
};
const text: Intent = {
  type: 'condition.add',
  id: 't',
  weight: 1,
  target: { kind: 'text', condition: 'keywords', text: 'red' },
};
const stroke: Intent = { type: 'mask.stroke', stroke: { id: 's1', erase: false, radius: 0.1, points: [[0.5, 0.5]] } };
const context: Intent = { type: 'mask.context', useCurrentFrame: true };

describe('the settings in effect (what the panel shows) are what the sampler runs with', () => {
  it('for every mode and condition kind, and after each change', () => {
    const pack = tunedPack();
    const kinds: [string, Intent[]][] = [
      ['none', []],
      ['class', [cls]],
      ['keywords', [text]],
      ['class + inpainting', [cls, stroke, context]],
    ];
    const modes: SamplerMode[] = ['ppgn', 'hdae', 'dgnam', 'fast', 'mala', 'hmc'];
    let checked = 0;
    let refused = 0;
    for (const [kind, intents] of kinds) {
      const m = model(pack);
      for (const i of intents) m.apply(i, ed, 3, i.type === 'mask.context' ? 'hash' : undefined);
      for (const mode of modes) {
        // what the panel says beforehand is what the engine does: an unavailable mode is refused, with that reason
        const why = m.state.effective?.unavailable?.[mode];
        if (why) {
          expect(() => m.apply({ type: 'params.set', params: { mode } }, ed), `${kind}, ${mode}`).toThrow(why);
          refused++;
          continue;
        }
        if (m.state.params.mode !== mode) m.apply({ type: 'params.set', params: { mode } }, ed);
        expect(m.state.effective?.values, `${kind}, ${mode}`).toEqual(samplerRuns(m.state, pack));
        checked++;
      }
    }
    expect(checked).toBe(22);
    expect(refused).toBe(2); // fast mode with a keyword condition, fast mode with inpainting
    pack.dispose();
  });

  it('shows the pack tunings of the condition kind (not the stored slider values) until someone overrides one', () => {
    const pack = tunedPack();
    const m = model(pack);
    m.apply(cls, ed);
    expect(m.state.effective?.values).toMatchObject({ eps1: 0.5, eps3: 0.02, lr: 0.4, lrSteps: 200 });
    // inpainting: the context tunings hold; ε3 is 0 in effect although the room's stored ε3 is 0.02
    m.apply(stroke, ed);
    m.apply(context, ed, 3, 'hash');
    expect(m.state.params.eps3).toBe(0.02);
    expect(m.state.effective?.values).toMatchObject({ eps3: 0, eps4: 0.7, lrSteps: 60 });
    // setting ε3 to the value it already holds is an override all the same: it is in effect from now on
    m.apply({ type: 'params.set', params: { eps3: 0.02 } }, ed);
    expect(m.state.overrides).toEqual(['eps3']);
    expect(m.state.effective?.values.eps3).toBe(0.02);
    pack.dispose();
  });

  it('after a mode switch the panel follows the new mode, and marks what it ignores', () => {
    const pack = tunedPack();
    const m = model(pack);
    m.apply(cls, ed);
    m.apply({ type: 'params.set', params: { mode: 'dgnam' } }, ed);
    expect(m.state.effective?.values.eps1).toBe(0);
    expect(m.state.effective?.ignored.eps1).toMatch(/DGN-AM/);
    expect(m.state.effective?.ignored.decay).toBeUndefined();
    m.apply({ type: 'params.set', params: { mode: 'fast' } }, ed);
    expect(m.state.effective?.values).toMatchObject({ eps1: 0.3, eps2: 0.05, eps3: expect.closeTo(0.01, 9) });
    expect(m.state.effective?.ignored).toMatchObject({ eps4: expect.any(String), decay: expect.any(String) });
    expect(m.state.effective?.ignored.eps1).toBeUndefined();
    pack.dispose();
  });

  it('shifts of the view (jitter): the pack tuning of its class conditions, an override, the modes that ignore it, and a refusal', () => {
    const pack = tunedPack();
    const m = model(pack);
    m.apply(cls, ed);
    expect(m.state.params.jitter).toBe(2);
    expect(m.state.effective?.values.jitter).toBe(2);
    expect(m.state.effective?.ignored.jitter).toBeUndefined();
    m.apply({ type: 'params.set', params: { jitter: 3 } }, ed);
    expect(m.state.overrides).toEqual(['jitter']);
    expect(m.state.effective?.values).toEqual(samplerRuns(m.state, pack));
    expect(samplerRuns(m.state, pack).jitter).toBe(3);
    for (const mode of ['fast', 'mala', 'hmc'] as const) {
      m.apply({ type: 'params.set', params: { mode } }, ed);
      expect(m.state.effective?.ignored.jitter, mode).toMatch(/fast mode reads the code|exact samplers/);
      expect(samplerRuns(m.state, pack).jitter, mode).toBe(0);
    }
    m.apply({ type: 'params.set', params: { mode: 'ppgn' } }, ed);
    // the pack's pictures are 16 px: a shift of more than 4 px is refused, with the reason, and nothing changes
    const v = m.state.version;
    expect(() => m.apply({ type: 'params.set', params: { jitter: 6 } }, ed)).toThrow(/jitter must be <= 4/);
    expect(m.state.version).toBe(v);
    expect(m.state.params.jitter).toBe(3);
    pack.dispose();
  });

  it('undo of an override gives the setting back to the pack tuning; redo overrides it again', () => {
    const pack = tunedPack();
    const m = model(pack);
    m.apply(text, ed);
    expect(m.state.effective?.values.eps1).toBe(0.9);
    const p1 = m.apply({ type: 'params.set', params: { eps1: 0.01, lr: 2 } }, ed).patch;
    expect(p1.set.overrides).toEqual(['eps1', 'lr']);
    expect(m.state.effective?.values).toMatchObject({ eps1: 0.01, lr: 2 });
    expect(m.state.effective?.values).toEqual(samplerRuns(m.state, pack));
    const undone = m.apply({ type: 'undo' }, ed).patch;
    expect(m.state.overrides).toEqual([]);
    expect(undone.set.effective?.values).toMatchObject({ eps1: 0.9, lr: 0.2 });
    expect(m.state.effective?.values).toEqual(samplerRuns(m.state, pack));
    m.apply({ type: 'redo' }, ed);
    expect(m.state.overrides).toEqual(['eps1', 'lr']);
    expect(m.state.effective?.values).toMatchObject({ eps1: 0.01, lr: 2 });
    pack.dispose();
  });
});
