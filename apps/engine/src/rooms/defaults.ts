import type { RoomState, SamplerParams } from '@ppgn/shared';

export const DEFAULT_PARAMS: SamplerParams = {
  mode: 'ppgn',
  eps1: 1e-3,
  eps2: 1,
  eps3: 1e-3,
  eps4: 0,
  lr: 1,
  lrEnd: 1,
  lrSteps: 200,
  decay: 0.01,
  resetEvery: 0,
  seed: 1,
  fps: 10,
};

export function newRoomState(id: string, name: string, packId: string, params: Partial<SamplerParams> = {}): RoomState {
  return {
    id,
    name,
    packId,
    version: 0,
    running: true,
    locked: false,
    conditions: [],
    params: { ...DEFAULT_PARAMS, ...params },
    strokes: [],
    context: null,
  };
}
