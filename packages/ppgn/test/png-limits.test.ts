import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, pngSize, PngTooLargeError, PpgnInputError } from '../src/index';
import { pngBomb } from './png-bomb';

describe('PNG size limits (decompression bombs)', () => {
  it('refuses a 20000×20000 PNG from its header in < 100 ms, before inflating', () => {
    const bomb = pngBomb(20000, 20000);
    expect(bomb.byteLength).toBeLessThan(1_000_000);
    expect(pngSize(bomb, { maxPixels: Infinity, maxSide: Infinity, maxBytes: Infinity })).toEqual({
      width: 20000,
      height: 20000,
    });
    const t0 = performance.now();
    let err: unknown;
    try {
      decodePng(bomb, 3);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(PngTooLargeError);
    expect(err).toBeInstanceOf(PpgnInputError);
    expect((err as Error).message).toBe(
      'image is 20000×20000 pixels; the limit is 4096 pixels a side and 16.8 megapixels',
    );
    expect(ms).toBeLessThan(100);
  });

  it('applies the pixel, side and byte limits it is given, and still decodes small images', () => {
    const small = encodePng({ shape: [8, 10, 3], data: new Float32Array(8 * 10 * 3).fill(0.5) });
    expect(decodePng(small, 3).shape).toEqual([8, 10, 3]);
    expect(() => decodePng(small, 3, '[0,1]', { maxPixels: 79, maxSide: 100, maxBytes: 1e6 })).toThrow(
      /image is 10×8 pixels; the limit is 100 pixels a side and 0\.0 megapixels/,
    );
    expect(() => decodePng(small, 3, '[0,1]', { maxPixels: 1e6, maxSide: 9, maxBytes: 1e6 })).toThrow(PngTooLargeError);
    expect(() => decodePng(small, 3, '[0,1]', { maxPixels: 1e6, maxSide: 100, maxBytes: 10 })).toThrow(
      /image file is 0\.0 MB; the limit is 0\.0 MB/,
    );
    expect(() => decodePng(small.subarray(0, 20), 3)).toThrow(/not a valid PNG/);
  });
});
