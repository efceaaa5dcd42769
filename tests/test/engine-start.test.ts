// The engine as a user starts it: real process, real embedded Postgres, real HTTP.
import path from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health } from '@ppgn/shared';
import { makeModelsDir } from '../support/pack';
import { ENGINE_ENTRY, freePort, startProcess, tempDir } from '../support/procs';

const tmp = tempDir('engine');
let modelsDir: string;

beforeAll(async () => {
  modelsDir = await makeModelsDir(path.join(tmp.dir, 'models'));
});
afterAll(() => tmp.remove());

describe('engine startup', () => {
  it('serves /health with backend, packs, database and rooms on the embedded database', async () => {
    const port = await freePort();
    const engine = startProcess(ENGINE_ENTRY, {
      ENGINE_PORT: String(port),
      DATABASE_URL: '',
      PPGN_DATA_DIR: path.join(tmp.dir, 'pg'),
      PPGN_MODELS_DIR: modelsDir,
      PPGN_BACKEND: 'onnx',
    });
    try {
      await engine.waitFor(/ready on http:\/\/localhost:\d+/);
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(200);
      const health = Health.parse(await res.json());
      expect(health.ok).toBe(true);
      expect(health.backend.name).toBe('onnx');
      expect(health.backend.runtime).toMatch(/^ONNX Runtime \d+\.\d+\.\d+ \(cpu, 1 thread per worker\)$/);
      expect(health.backend.gpu).toBe(false);
      expect(health.packs.map((p) => p.id)).toEqual(['testpack']);
      expect(health.database).toEqual({ reachable: true, embedded: true });
      expect(health.rooms.running).toBe(0);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const missing = await fetch(`http://127.0.0.1:${port}/nope`);
      expect(missing.status).toBe(404);
    } finally {
      await engine.stop();
    }
    expect(await engine.exited()).toBe(0);
  });

  it('refuses a busy port with one clear line and exit code 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const engine = startProcess(ENGINE_ENTRY, {
        ENGINE_PORT: String(port),
        PPGN_MODELS_DIR: modelsDir,
        PPGN_DATA_DIR: path.join(tmp.dir, 'pg-busy'),
      });
      expect(await engine.exited()).toBe(1);
      expect(engine.output()).toMatch(new RegExp(`error: port ${port} is already in use — .*ENGINE_PORT`));
    } finally {
      blocker.close();
    }
  });

  it('explains an unreachable DATABASE_URL', async () => {
    const dead = await freePort();
    const engine = startProcess(ENGINE_ENTRY, {
      ENGINE_PORT: String(await freePort()),
      DATABASE_URL: `postgresql://u:p@127.0.0.1:${dead}/db`,
      PPGN_MODELS_DIR: modelsDir,
    });
    expect(await engine.exited()).toBe(1);
    expect(engine.output()).toMatch(new RegExp(`error: cannot reach the database at 127.0.0.1:${dead}.*DATABASE_URL`));
    expect(engine.output()).not.toMatch(/at .*\.ts:\d+/); // one line, no stack trace
  });

  it('explains a missing model pack', async () => {
    const empty = tempDir('nomodels');
    try {
      const engine = startProcess(ENGINE_ENTRY, { ENGINE_PORT: String(await freePort()), PPGN_MODELS_DIR: empty.dir });
      expect(await engine.exited()).toBe(1);
      expect(engine.output()).toMatch(/error: no model pack found in .* — .*npm run train/);
      const engine2 = startProcess(ENGINE_ENTRY, {
        ENGINE_PORT: String(await freePort()),
        PPGN_MODELS_DIR: modelsDir,
        PPGN_PACKS: 'nosuchpack',
      });
      expect(await engine2.exited()).toBe(1);
      expect(engine2.output()).toMatch(/error: model pack "nosuchpack" not found .* available: testpack/);
    } finally {
      empty.remove();
    }
  });
});
