// Animated GIF of a chain's kept history (gifenc: small, pure JS).
// @ts-expect-error gifenc ships no type declarations
import * as gifencModule from 'gifenc';

// Node's ESM loader sees gifenc's CommonJS build (exports under `default`); bundlers see its ESM build.
type GifEnc = {
  GIFEncoder(): {
    writeFrame(index: Uint8Array, w: number, h: number, o: object): void;
    finish(): void;
    bytes(): Uint8Array;
  };
  quantize(rgba: Uint8Array, n: number): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][]): Uint8Array;
};
const ns = gifencModule as unknown as GifEnc & { default?: GifEnc };
const { GIFEncoder, quantize, applyPalette } = typeof ns.GIFEncoder === 'function' ? ns : ns.default!;

/** frames: [H·W·C] in [0,1] (C = 1 or 3); upscaled by `scale` with nearest neighbour. */
export function encodeGif(
  frames: Float32Array[],
  H: number,
  W: number,
  C: number,
  opts: { scale?: number; delayMs?: number } = {},
): Uint8Array {
  const s = Math.max(1, Math.min(8, Math.floor(opts.scale ?? 4)));
  const gif = GIFEncoder();
  const outW = W * s;
  const outH = H * s;
  for (const f of frames) {
    const rgba = new Uint8Array(outW * outH * 4);
    for (let y = 0; y < outH; y++)
      for (let x = 0; x < outW; x++) {
        const i = (Math.floor(y / s) * W + Math.floor(x / s)) * C;
        const o = (y * outW + x) * 4;
        for (let k = 0; k < 3; k++) rgba[o + k] = Math.round(255 * Math.min(1, Math.max(0, f[i + (C === 1 ? 0 : k)]!)));
        rgba[o + 3] = 255;
      }
    const palette = quantize(rgba, 256);
    const index = applyPalette(rgba, palette);
    gif.writeFrame(index, outW, outH, { palette, delay: opts.delayMs ?? 80 });
  }
  gif.finish();
  return gif.bytes();
}
