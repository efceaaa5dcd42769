// `npm run cluster` stopped as a terminal's Ctrl-C stops it: the engines drain first, then Postgres and
// the Redis it started go, and nothing is left running. (The embedded Postgres package's exit hooks used
// to stop the database at the first signal, under the engines' last saves, and the launcher then exited
// without stopping its redis-server.)
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api } from '../support/engine';
import { makeModelsDir } from '../support/pack';
import { freePort, startProcess, tempDir } from '../support/procs';

const tmp = tempDir('cluster-stop');
afterAll(() => tmp.remove());

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('npm run cluster, stopped with Ctrl-C', () => {
  it('drains the engines, then stops Postgres and its redis-server; exits 0 with nothing left listening', async () => {
    const port = await freePort();
    const proc = startProcess(
      [
        '--import',
        'tsx',
        'apps/engine/src/cli/cluster.ts',
        '--engines',
        '2',
        '--no-web',
        '--port',
        String(port),
        '--workers',
        '1',
      ],
      {
        PPGN_CLUSTER_DATA_DIR: path.join(tmp.dir, 'pg'),
        PPGN_MODELS_DIR: await makeModelsDir(path.join(tmp.dir, 'models')),
        PPGN_BACKEND: 'onnx',
        DATABASE_URL: '',
        REDIS_URL: '',
        PPGN_CLUSTER_SECRET: '',
      },
    );
    try {
      await proc.waitFor(/Press Ctrl-C to stop/, 180_000);
      const redisPort = Number(/Redis:\s+redis:\/\/127\.0\.0\.1:(\d+) \(started here/.exec(proc.output())?.[1]);
      const pgPort = Number(/Postgres:\s+embedded on 127\.0\.0\.1:(\d+)/.exec(proc.output())?.[1]);
      expect(redisPort).toBeGreaterThan(0);
      expect(pgPort).toBeGreaterThan(0);
      // a room with a change the engines must save on the way out
      const room = await api<{ id: string }>(`http://127.0.0.1:${port}`, 'POST', '/rooms', {
        author: 'u',
        name: 'before the stop',
      });
      expect(room.status).toBe(201);
      proc.child.kill('SIGINT');
      expect(await proc.exited()).toBe(0);
      const out = proc.output();
      expect(out).toMatch(/\[cluster\] stopped/);
      // the engines drained while the database was still up
      expect(out).not.toMatch(/database (is )?unavailable|still had changes the database did not take|ECONNREFUSED/i);
      expect(await listening(redisPort)).toBe(false);
      expect(await listening(pgPort)).toBe(false);
      for (const e of [1, 2]) expect(await listening(port + e)).toBe(false);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  });
});
