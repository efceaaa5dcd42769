import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { readConfig } from '../src/config';
import { startBackend } from '../src/runtime';
import { StartupError } from '../src/errors';

describe('runtime settings', () => {
  it('PPGN_ORT_THREADS must be a whole number from 1 to 64: a typo is a startup error with a hint', () => {
    expect(() => readConfig({ PPGN_ORT_THREADS: '2' })).not.toThrow();
    expect(() => readConfig({})).not.toThrow();
    for (const bad of ['two', '0', '1.5', '65']) {
      const err = (() => {
        try {
          readConfig({ PPGN_ORT_THREADS: bad });
        } catch (e) {
          return e as StartupError;
        }
      })();
      expect(err).toBeInstanceOf(StartupError);
      expect(err!.message).toBe(`PPGN_ORT_THREADS must be a whole number from 1 to 64 (got "${bad}")`);
      expect(err!.hint).toMatch(/one ONNX Runtime thread per sampler worker/);
    }
  });

  it('an unknown PPGN_BACKEND names the choices; onnx names the runtime, its version and provider', async () => {
    await expect(startBackend('metal')).rejects.toThrow(
      /unknown backend "metal" \(PPGN_BACKEND must be one of auto, onnx, onnx-webgpu, onnx-cuda, tensorflow, webgpu, wasm, cpu\)/,
    );
    const b = await startBackend('onnx');
    expect(b).toMatchObject({ name: 'onnx', gpu: false, reason: 'requested: native CPU kernels' });
    expect(b.runtime).toMatch(/^ONNX Runtime \d+\.\d+\.\d+ \(cpu, 1 thread per worker\)$/);
  });
});

describe('one default engine port', () => {
  it('npm start (scripts/start.mjs, plain JavaScript) uses the DEFAULT_ENGINE_PORT the engine and web app read', async () => {
    const { readFileSync } = await import('node:fs');
    const { DEFAULT_ENGINE_PORT } = await import('@ppgn/shared');
    const { REPO_ROOT } = await import('../src/config');
    const start = readFileSync(`${REPO_ROOT}/scripts/start.mjs`, 'utf8');
    expect(start).toMatch(new RegExp(`portFrom\\('ENGINE_PORT', ${DEFAULT_ENGINE_PORT}\\)`));
    // and runs the engine the one way the launcher, the benchmarks and the tests do
    const { ENGINE_ARGS } = await import('../src/launch/engine-process');
    expect(start).toContain(`['--import', 'tsx', '${path.relative(REPO_ROOT, ENGINE_ARGS[2]!)}']`);
    expect(readConfig({}).port).toBe(DEFAULT_ENGINE_PORT);
  });
});
