/**
 * Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) for small RGB images, written for 32² and 64² emoji:
 * Gaussian window 7×7 (σ = 1.5, "valid" filtering), 2×2 average-pool between scales, as many scales as keep the
 * coarsest side ≥ 8 pixels (32² → 3 scales, 64² → 4), the standard scale weights (0.0448, 0.2856, 0.3001,
 * 0.2363, 0.1333) truncated and renormalised. SSIM terms are computed per channel and averaged; negative
 * contrast-structure terms are clamped to 0 before the weighted product. Values in [0,1]; data range 1.
 */

const WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;
const WIN = 7;
const SIGMA = 1.5;

const KERNEL = (() => {
  const k = new Float64Array(WIN);
  const r = (WIN - 1) / 2;
  let s = 0;
  for (let i = 0; i < WIN; i++) {
    k[i] = Math.exp(-((i - r) ** 2) / (2 * SIGMA * SIGMA));
    s += k[i];
  }
  for (let i = 0; i < WIN; i++) k[i] /= s;
  return k;
})();

/** separable Gaussian filter of an H×W plane, valid mode (window clipped to the image if smaller) */
function blur(p: Float64Array, H: number, W: number): { out: Float64Array; h: number; w: number } {
  const win = Math.min(WIN, H, W);
  const off = (WIN - win) / 2;
  const k = KERNEL.slice(Math.floor(off), Math.floor(off) + win);
  const ks = k.reduce((a, b) => a + b, 0);
  const h = H - win + 1;
  const w = W - win + 1;
  const tmp = new Float64Array(H * w);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < win; i++) s += k[i] * p[y * W + x + i];
      tmp[y * w + x] = s / ks;
    }
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < win; i++) s += k[i] * tmp[(y + i) * w + x];
      out[y * w + x] = s / ks;
    }
  return { out, h, w };
}

/** mean luminance term and contrast-structure term of one channel plane pair */
function ssimTerms(a: Float64Array, b: Float64Array, H: number, W: number): { l: number; cs: number } {
  const n = H * W;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const mu1 = blur(a, H, W).out;
  const mu2 = blur(b, H, W).out;
  const s11 = blur(aa, H, W).out;
  const s22 = blur(bb, H, W).out;
  const { out: s12 } = blur(ab, H, W);
  let l = 0;
  let cs = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i];
    const m2 = mu2[i];
    const v1 = s11[i] - m1 * m1;
    const v2 = s22[i] - m2 * m2;
    const cov = s12[i] - m1 * m2;
    l += (2 * m1 * m2 + C1) / (m1 * m1 + m2 * m2 + C1);
    cs += (2 * cov + C2) / (v1 + v2 + C2);
  }
  return { l: l / mu1.length, cs: cs / mu1.length };
}

function pool2(p: Float64Array, H: number, W: number): { p: Float64Array; h: number; w: number } {
  const h = Math.floor(H / 2);
  const w = Math.floor(W / 2);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      out[y * w + x] =
        (p[2 * y * W + 2 * x] +
          p[2 * y * W + 2 * x + 1] +
          p[(2 * y + 1) * W + 2 * x] +
          p[(2 * y + 1) * W + 2 * x + 1]) /
        4;
  return { p: out, h, w };
}

export function numScales(H: number, W: number): number {
  let m = 1;
  while (m < WEIGHTS.length && Math.min(H, W) / 2 ** m >= 8) m++;
  return m;
}

/** MS-SSIM of two [H, W, C] images (row-major, values in [0,1]) */
export function msssim(x: Float32Array | number[], y: Float32Array | number[], H: number, W: number, C = 3): number {
  if (x.length !== H * W * C || y.length !== H * W * C) throw new Error(`msssim: expected ${H * W * C} values`);
  const M = numScales(H, W);
  const wsum = WEIGHTS.slice(0, M).reduce((a, b) => a + b, 0);
  const weights = WEIGHTS.slice(0, M).map((w) => w / wsum);
  let total = 0;
  for (let c = 0; c < C; c++) {
    let a: Float64Array = new Float64Array(H * W);
    let b: Float64Array = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) {
      a[i] = x[i * C + c];
      b[i] = y[i * C + c];
    }
    let h = H;
    let w = W;
    let val = 1;
    for (let s = 0; s < M; s++) {
      const { l, cs } = ssimTerms(a, b, h, w);
      const term = s === M - 1 ? Math.max(0, l) * Math.max(0, cs) : Math.max(0, cs);
      val *= term ** weights[s];
      if (s < M - 1) {
        const pa = pool2(a, h, w);
        const pb = pool2(b, h, w);
        a = pa.p;
        b = pb.p;
        h = pa.h;
        w = pa.w;
      }
    }
    total += val;
  }
  return total / C;
}

/** mean pairwise MS-SSIM over all pairs (or at most `maxPairs` evenly chosen pairs) */
export function meanPairwiseMsssim(images: Float32Array[], H: number, W: number, maxPairs = 400): number {
  const pairs: [number, number][] = [];
  for (let i = 0; i < images.length; i++) for (let j = i + 1; j < images.length; j++) pairs.push([i, j]);
  if (!pairs.length) return NaN;
  const step = Math.max(1, pairs.length / maxPairs);
  let s = 0;
  let n = 0;
  for (let k = 0; k < pairs.length && n < maxPairs; k = Math.floor(++n * step)) {
    const [i, j] = pairs[k];
    s += msssim(images[i], images[j], H, W);
  }
  return s / n;
}
