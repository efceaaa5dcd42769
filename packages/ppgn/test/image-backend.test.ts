import { describe, it, expect } from 'vitest';
import {
  encodePng,
  decodePng,
  contactSheet,
  initBackend,
  tf,
  buildRandomPack,
  createChain,
  stepBatch,
  cond,
} from '../src/index';
import { maxAbsDiff } from './helpers';

describe('PNG utils', () => {
  it('encode → decode round trip (8-bit) in both ranges, and contact sheets', () => {
    const data = Float32Array.from({ length: 4 * 5 * 3 }, (_, i) => (i % 17) / 16);
    const png = encodePng({ shape: [4, 5, 3], data });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const back = decodePng(png, 3);
    expect(back.shape).toEqual([4, 5, 3]);
    expect(maxAbsDiff(back.data, data)).toBeLessThan(1 / 255);
    const m11 = decodePng(encodePng({ shape: [4, 5, 3], data: data.map((v) => v * 2 - 1) }, '[-1,1]'), 3, '[-1,1]');
    expect(
      maxAbsDiff(
        m11.data,
        data.map((v) => v * 2 - 1),
      ),
    ).toBeLessThan(2 / 255);
    const sheet = contactSheet(
      [
        { shape: [4, 5, 3], data },
        { shape: [4, 5, 3], data },
        { shape: [4, 5, 3], data },
      ],
      { cols: 2, pad: 1 },
    );
    expect(sheet.shape).toEqual([2 * 4 + 3, 2 * 5 + 3, 3]);
    expect(sheet.data[(1 * 13 + 1) * 3]).toBeCloseTo(data[0], 6);
    expect(() => decodePng(new Uint8Array([1, 2, 3]))).toThrow(/not a valid PNG/);
  });
});

describe('backends', () => {
  it('tensorflow backend fails with a clear message when tfjs-node is not installed', async () => {
    await expect(initBackend('tensorflow', { log: () => {} })).rejects.toThrow(
      /tfjs-node.*install one to use PPGN_BACKEND=tensorflow/,
    );
    await expect(initBackend('metal' as never, { log: () => {} })).rejects.toThrow(/unknown backend/);
  });
  it('wasm (with SIMD) samples the same chain as cpu', async () => {
    const logs: string[] = [];
    const cpu = await initBackend('cpu', { log: (m) => logs.push(m) });
    expect(cpu.backend).toBe('cpu');
    const pack = buildRandomPack({ image: [16, 16, 3], codeDim: 16 }, 2);
    const run = async () => {
      const c = await createChain(pack, { seed: 3, condition: cond.class('class1'), config: { eps3: 0.1, eps1: 0.1 } });
      for (let i = 0; i < 3; i++)
        await stepBatch(pack, [c, await createChain(pack, { seed: 4, condition: cond.class(2) })]);
      return c.h;
    };
    const a = await run();
    const wasm = await initBackend('wasm', { log: (m) => logs.push(m) });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.reason).toMatch(/simd=/);
    const b = await run();
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-3);
    expect(logs.join('\n')).toMatch(/backend wasm/);
    await tf.setBackend('cpu');
  });
});
