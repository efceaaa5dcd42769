/**
 * Sharpness of pictures: the variance of the Laplacian of the grey image (luminance 0.299 R + 0.587 G + 0.114 B,
 * values in [0, 1]), over the interior pixels (the 3×3 kernel [0 1 0; 1 −4 1; 0 1 0], no padding), averaged over
 * the pictures. Blur lowers it; sampler speckle raises it too, so for samples it is read beside the sheets.
 */

/** one picture [H, W, C] (C = 3, or 1 for grey) with values in [0, 1] */
export function laplacianVariance(img: ArrayLike<number>, H: number, W: number, C: number): number {
  if (H < 3 || W < 3) return 0;
  const grey = new Float64Array(H * W);
  for (let p = 0; p < H * W; p++)
    grey[p] = C >= 3 ? 0.299 * img[p * C] + 0.587 * img[p * C + 1] + 0.114 * img[p * C + 2] : img[p * C];
  let sum = 0;
  let sq = 0;
  const n = (H - 2) * (W - 2);
  for (let y = 1; y < H - 1; y++)
    for (let x = 1; x < W - 1; x++) {
      const p = y * W + x;
      const v = grey[p - W] + grey[p + W] + grey[p - 1] + grey[p + 1] - 4 * grey[p];
      sum += v;
      sq += v * v;
    }
  const mean = sum / n;
  return sq / n - mean * mean;
}

/** mean over pictures of `laplacianVariance`; `range` '[-1,1]' pictures are mapped to [0, 1] first */
export function meanSharpness(
  imgs: ArrayLike<number>[],
  H: number,
  W: number,
  C: number,
  range: '[0,1]' | '[-1,1]' = '[0,1]',
): number {
  if (imgs.length === 0) return NaN;
  let s = 0;
  for (const im of imgs) {
    const x = range === '[-1,1]' ? Float32Array.from(im as ArrayLike<number>, (v) => (v + 1) / 2) : im;
    s += laplacianVariance(x, H, W, C);
  }
  return s / imgs.length;
}
