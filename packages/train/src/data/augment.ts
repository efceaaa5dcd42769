/** Batch sampling and augmentation (random shift, scale, colour jitter) on [S,S,3] images in [0,1]. */
import type { Rng } from '@ppgn/core';

export interface AugmentOptions {
  /** max shift in pixels (uniform in ±shift) */
  shift: number;
  /** max relative scale change (uniform in 1 ± scale) */
  scale: number;
  /** colour jitter: brightness ± jitter, per-channel gain 1 ± jitter/2 (0 = none) */
  jitter: number;
}

export const NO_AUGMENT: AugmentOptions = { shift: 0, scale: 0, jitter: 0 };

/**
 * Copy images `idx` of `images` into `out` (B·S·S·3), augmented. Pixels that come from outside the image are
 * white (the background of composited emoji).
 */
export function augmentBatch(
  images: Float32Array,
  S: number,
  idx: ArrayLike<number>,
  aug: AugmentOptions,
  rng: Rng,
  out = new Float32Array(idx.length * S * S * 3),
): Float32Array {
  const n = S * S * 3;
  const c = (S - 1) / 2;
  for (let b = 0; b < idx.length; b++) {
    const src = images.subarray(idx[b] * n, (idx[b] + 1) * n);
    const dst = out.subarray(b * n, (b + 1) * n);
    const plain = aug.shift === 0 && aug.scale === 0;
    if (plain) dst.set(src);
    else {
      const s = 1 + (rng.uniform() * 2 - 1) * aug.scale;
      const dx = (rng.uniform() * 2 - 1) * aug.shift;
      const dy = (rng.uniform() * 2 - 1) * aug.shift;
      for (let y = 0; y < S; y++) {
        const sy = (y - c - dy) / s + c;
        const y0 = Math.floor(sy);
        const fy = sy - y0;
        const yIn0 = y0 >= 0 && y0 < S;
        const yIn1 = y0 + 1 >= 0 && y0 + 1 < S;
        for (let x = 0; x < S; x++) {
          const sx = (x - c - dx) / s + c;
          const x0 = Math.floor(sx);
          const fx = sx - x0;
          const xIn0 = x0 >= 0 && x0 < S;
          const xIn1 = x0 + 1 >= 0 && x0 + 1 < S;
          const w00 = (1 - fy) * (1 - fx);
          const w01 = (1 - fy) * fx;
          const w10 = fy * (1 - fx);
          const w11 = fy * fx;
          const i00 = (y0 * S + x0) * 3;
          const i01 = i00 + 3;
          const i10 = i00 + S * 3;
          const i11 = i10 + 3;
          const o = (y * S + x) * 3;
          for (let k = 0; k < 3; k++) {
            const v00 = yIn0 && xIn0 ? src[i00 + k] : 1;
            const v01 = yIn0 && xIn1 ? src[i01 + k] : 1;
            const v10 = yIn1 && xIn0 ? src[i10 + k] : 1;
            const v11 = yIn1 && xIn1 ? src[i11 + k] : 1;
            dst[o + k] = w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11;
          }
        }
      }
    }
    if (aug.jitter > 0) {
      const br = (rng.uniform() * 2 - 1) * aug.jitter;
      const g = [0, 1, 2].map(() => 1 + ((rng.uniform() * 2 - 1) * aug.jitter) / 2);
      for (let i = 0; i < S * S; i++)
        for (let k = 0; k < 3; k++) {
          const v = dst[i * 3 + k];
          // jitter only the drawing, keep the white background white
          const m = Math.min(1, (1 - v) * 4);
          const j = v + m * (v * (g[k] - 1) + br);
          dst[i * 3 + k] = Math.max(0, Math.min(1, j));
        }
    }
  }
  return out;
}

/** B random indices from `pool` */
export function sampleIndices(pool: ArrayLike<number>, B: number, rng: Rng): Int32Array {
  const out = new Int32Array(B);
  for (let i = 0; i < B; i++) out[i] = pool[Math.floor(rng.uniform() * pool.length)];
  return out;
}
