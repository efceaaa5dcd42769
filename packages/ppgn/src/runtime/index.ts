/**
 * The active net runtime (one per thread, like tfjs's backend): `initBackend` sets it; until then the
 * sampler uses TensorFlow.js on whatever tfjs backend is active.
 */
import { TfjsRuntime } from './tfjs';
import type { NetRuntime } from './types';

let current: NetRuntime | undefined;
const tfjs = new TfjsRuntime();

export function currentRuntime(): NetRuntime {
  return current ?? tfjs;
}

/** make `rt` the runtime every sampler call uses from now on (null: back to TensorFlow.js) */
export function setRuntime(rt: NetRuntime | null): void {
  current = rt ?? undefined;
}

export { TfjsRuntime };
export type { NetRuntime, ForwardPass, ForwardOptions, RuntimeName } from './types';
