/**
 * A first guess for the unknown pixels of an inpainting context, so that a chain can start from E(guess) instead of
 * a random code: the known pixels (mask ≥ 0.5) are kept and the others filled.
 *   'mean'    — the mean colour of the known pixels;
 *   'diffuse' — smooth continuation of the known border (repeated averaging of neighbours, starting from the mean);
 *   'mirror'  — the known pixel mirrored about the vertical centre line where there is one, else 'diffuse'.
 */
import { PpgnInputError } from './errors';

export type FillMethod = 'mean' | 'diffuse' | 'mirror';
export const FILL_METHODS: readonly FillMethod[] = ['mean', 'diffuse', 'mirror'];

export function fillUnknown(
  image: Float32Array,
  mask: Float32Array,
  shape: readonly [number, number, number],
  how: FillMethod = 'diffuse',
): Float32Array {
  const [H, W, C] = shape;
  if (image.length !== H * W * C) throw new PpgnInputError(`image has ${image.length} values, expected ${H * W * C}`);
  if (mask.length !== H * W) throw new PpgnInputError(`mask has ${mask.length} values, expected ${H * W}`);
  if (!FILL_METHODS.includes(how)) throw new PpgnInputError(`fill must be one of ${FILL_METHODS.join(', ')}`);
  const known = Uint8Array.from(mask, (m) => (m >= 0.5 ? 1 : 0));
  const out = Float32Array.from(image);
  const mean = new Float64Array(C);
  let nk = 0;
  for (let p = 0; p < H * W; p++)
    if (known[p]) {
      nk++;
      for (let c = 0; c < C; c++) mean[c] += image[p * C + c];
    }
  if (nk === 0) {
    // nothing known: mid-grey of the image's values
    out.fill(0.5);
    return out;
  }
  for (let c = 0; c < C; c++) mean[c] /= nk;
  for (let p = 0; p < H * W; p++) if (!known[p]) for (let c = 0; c < C; c++) out[p * C + c] = mean[c];
  if (how === 'mean' || nk === H * W) return out;
  const fixed = Uint8Array.from(known);
  if (how === 'mirror')
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const q = y * W + (W - 1 - x);
        if (!known[p] && known[q]) {
          for (let c = 0; c < C; c++) out[p * C + c] = image[q * C + c];
          fixed[p] = 1;
        }
      }
  // diffuse the rest: Jacobi iterations of the discrete Laplace equation, known (and mirrored) pixels held fixed
  const iters = 8 * Math.max(H, W);
  let a = out;
  let b = Float32Array.from(out);
  for (let it = 0; it < iters; it++) {
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        if (fixed[p]) continue;
        const n = +(x > 0) + +(x < W - 1) + +(y > 0) + +(y < H - 1);
        for (let c = 0; c < C; c++) {
          let s = 0;
          if (x > 0) s += a[(p - 1) * C + c];
          if (x < W - 1) s += a[(p + 1) * C + c];
          if (y > 0) s += a[(p - W) * C + c];
          if (y < H - 1) s += a[(p + W) * C + c];
          b[p * C + c] = s / n;
        }
      }
    [a, b] = [b, a];
  }
  return a;
}
