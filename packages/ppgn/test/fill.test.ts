import { describe, it, expect } from 'vitest';
import { fillUnknown, PpgnInputError } from '../src/index';

/** an H×W×C picture from f(y, x, c) and a mask known where k(y, x) */
function picture(H: number, W: number, C: number, f: (y: number, x: number, c: number) => number) {
  const img = new Float32Array(H * W * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) img[(y * W + x) * C + c] = f(y, x, c);
  return img;
}
function maskOf(H: number, W: number, k: (y: number, x: number) => boolean) {
  const m = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = k(y, x) ? 1 : 0;
  return m;
}
const at = (img: Float32Array, W: number, C: number, y: number, x: number, c: number) => img[(y * W + x) * C + c];

describe('fillUnknown (a first guess for inpainting starts)', () => {
  const H = 6;
  const W = 8;
  const C = 3;
  const img = picture(H, W, C, (y, x, c) => (x < W / 2 ? 0.1 * c + 0.05 * y + 0.02 * x : 0.9));
  const leftHalf = maskOf(H, W, (_, x) => x < W / 2);

  it('keeps every known pixel and fills every unknown one, whatever the method', () => {
    for (const how of ['mean', 'diffuse', 'mirror'] as const) {
      const out = fillUnknown(img, leftHalf, [H, W, C], how);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          for (let c = 0; c < C; c++)
            if (x < W / 2) expect(at(out, W, C, y, x, c)).toBe(at(img, W, C, y, x, c));
            else expect(at(out, W, C, y, x, c)).not.toBeCloseTo(0.9, 2); // the hidden pixels are not used
    }
  });

  it("'mean' paints the known pixels' mean colour", () => {
    const out = fillUnknown(img, leftHalf, [H, W, C], 'mean');
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let y = 0; y < H; y++) for (let x = 0; x < W / 2; x++) s += at(img, W, C, y, x, c);
      expect(at(out, W, C, 2, W - 1, c)).toBeCloseTo(s / ((H * W) / 2), 5);
    }
  });

  it("'mirror' copies the known pixel across the vertical centre line", () => {
    const out = fillUnknown(img, leftHalf, [H, W, C], 'mirror');
    for (let y = 0; y < H; y++)
      for (let x = W / 2; x < W; x++)
        for (let c = 0; c < C; c++) expect(at(out, W, C, y, x, c)).toBe(at(img, W, C, y, W - 1 - x, c));
  });

  it("'diffuse' continues the border smoothly: a ramp between two known columns", () => {
    const two = picture(1, W, 1, (_, x) => (x === 0 ? 0 : 1));
    const ends = maskOf(1, W, (_, x) => x === 0 || x === W - 1);
    const out = fillUnknown(two, ends, [1, W, 1], 'diffuse');
    for (let x = 0; x < W; x++) expect(out[x]).toBeCloseTo(x / (W - 1), 1);
  });

  it('explains bad input instead of filling garbage', () => {
    expect(() => fillUnknown(img.subarray(1), leftHalf, [H, W, C])).toThrow(PpgnInputError);
    expect(() => fillUnknown(img, leftHalf.subarray(1), [H, W, C])).toThrow(/mask has/);
    expect(() => fillUnknown(img, leftHalf, [H, W, C], 'blur' as never)).toThrow(/fill must be one of/);
  });

  it('with nothing known, starts from mid-grey', () => {
    const out = fillUnknown(img, new Float32Array(H * W), [H, W, C], 'diffuse');
    expect(out.every((v) => v === 0.5)).toBe(true);
  });
});
