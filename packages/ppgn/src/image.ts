/** PNG encode/decode and contact sheets for images stored as [H, W, C] float arrays. */
import { PNG } from 'pngjs';
import { tf } from './tf';
import { PpgnInputError } from './errors';
import type { ImageInput } from './conditions';

export type ValueRange = '[0,1]' | '[-1,1]';

export interface ImageData3 {
  shape: [number, number, number];
  data: Float32Array;
}

/** Encode an [H, W, C] image (C = 1 or 3) with values in `range` to PNG bytes. */
export function encodePng(img: ImageInput, range: ValueRange = '[0,1]'): Buffer {
  const [H, W, C = 1] = img.shape;
  if (img.data.length !== H * W * C || (C !== 1 && C !== 3 && C !== 4)) throw new PpgnInputError(`cannot encode image of shape [${img.shape}] with ${img.data.length} values`, 'image');
  const png = new PNG({ width: W, height: H });
  const conv = range === '[0,1]' ? (v: number) => v : (v: number) => (v + 1) / 2;
  for (let i = 0; i < H * W; i++) {
    for (let k = 0; k < 3; k++) {
      const v = conv(img.data[i * C + (C === 1 ? 0 : k)]);
      png.data[i * 4 + k] = Math.max(0, Math.min(255, Math.round((Number.isFinite(v) ? v : 0) * 255)));
    }
    png.data[i * 4 + 3] = C === 4 ? Math.round(conv(img.data[i * 4 + 3]) * 255) : 255;
  }
  return PNG.sync.write(png);
}

/** Decode PNG bytes to an [H, W, channels] image in `range` (alpha is composited on white). */
export function decodePng(bytes: Uint8Array, channels: 1 | 3 = 3, range: ValueRange = '[0,1]'): ImageData3 {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes));
  } catch (e) {
    throw new PpgnInputError(`not a valid PNG: ${(e as Error).message}`, 'image');
  }
  const { width: W, height: H } = png;
  const out = new Float32Array(H * W * channels);
  for (let i = 0; i < H * W; i++) {
    const a = png.data[i * 4 + 3] / 255;
    const rgb = [0, 1, 2].map((k) => (png.data[i * 4 + k] / 255) * a + (1 - a));
    const vals = channels === 1 ? [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] : rgb;
    for (let k = 0; k < channels; k++) out[i * channels + k] = range === '[0,1]' ? vals[k] : vals[k] * 2 - 1;
  }
  return { shape: [H, W, channels], data: out };
}

/** Nearest/bilinear resize of an image to [h, w] (for uploads that do not match the pack size). */
export function resizeImage(img: ImageData3, h: number, w: number): ImageData3 {
  const t = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(img.data, img.shape), [h, w], true));
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return { shape: [h, w, img.shape[2]], data: Float32Array.from(data) };
}

/** A tensor [H, W, C] or [1, H, W, C] to PNG bytes. */
export async function tensorToPng(t: tf.Tensor, range: ValueRange = '[0,1]'): Promise<Buffer> {
  const s = t.shape.length === 4 ? t.shape.slice(1) : t.shape;
  return encodePng({ shape: s as number[], data: (await t.data()) as Float32Array }, range);
}

/** PNG bytes to a tensor [H, W, C]. */
export function pngToTensor(bytes: Uint8Array, channels: 1 | 3 = 3, range: ValueRange = '[0,1]'): tf.Tensor3D {
  const img = decodePng(bytes, channels, range);
  return tf.tensor3d(img.data, img.shape);
}

/** Arrange images (same shape) in a grid with `pad` pixels of background between them. */
export function contactSheet(images: ImageInput[], opts: { cols?: number; pad?: number; background?: number } = {}): ImageData3 {
  if (!images.length) throw new PpgnInputError('contact sheet needs at least one image', 'images');
  const [H, W, C = 1] = images[0].shape;
  const n = images.length;
  const cols = Math.max(1, Math.min(opts.cols ?? Math.ceil(Math.sqrt(n)), n));
  const rows = Math.ceil(n / cols);
  const pad = opts.pad ?? 2;
  const SH = rows * H + (rows + 1) * pad;
  const SW = cols * W + (cols + 1) * pad;
  const out = new Float32Array(SH * SW * C).fill(opts.background ?? 1);
  images.forEach((img, i) => {
    if (img.shape[0] !== H || img.shape[1] !== W || (img.shape[2] ?? 1) !== C) throw new PpgnInputError(`image ${i} has shape [${img.shape}], expected [${H}, ${W}, ${C}]`, 'images');
    const r = Math.floor(i / cols);
    const c = i % cols;
    const oy = pad + r * (H + pad);
    const ox = pad + c * (W + pad);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let k = 0; k < C; k++) out[((oy + y) * SW + ox + x) * C + k] = img.data[(y * W + x) * C + k];
  });
  return { shape: [SH, SW, C], data: out };
}
