// A throwaway Redis for clusters on one machine (`npm run cluster`, tests, the loadtest): Debian's
// `redis-server` on a free loopback port, no persistence, in its own temp directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@ppgn/db';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH || 'redis-server';
export const REDIS_INSTALL_HINT =
  'install it (Debian/Ubuntu: sudo apt-get install -y redis-server), set REDIS_SERVER_PATH, or set REDIS_URL to a running Redis';

export function hasRedisServer(): boolean {
  const r = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Test setup: install Debian's redis-server when it is missing (like Chromium for the browser tests). */
export function ensureRedisServer(log: (l: string) => void = console.log): void {
  if (hasRedisServer()) return;
  log(`[tests] ${REDIS_SERVER} missing: installing Debian's redis-server (apt-get)…`);
  const r = spawnSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    {
      stdio: 'inherit',
      timeout: 600_000,
    },
  );
  if (r.status !== 0 || !hasRedisServer()) throw new Error(`could not install redis-server; ${REDIS_INSTALL_HINT}`);
}

export interface LocalRedis {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Start redis-server on loopback (a free port unless given); resolves once it accepts connections. */
export async function startRedis(opts: { port?: number; log?: (l: string) => void } = {}): Promise<LocalRedis> {
  if (!hasRedisServer()) throw new Error(`${REDIS_SERVER} is not installed; ${REDIS_INSTALL_HINT}`);
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ppgn-redis-'));
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (b) => (out += b.toString()));
  child.stderr!.on('data', (b) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${out.trim().split('\n').pop()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not accept connections on port ${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  opts.log?.(`redis-server on 127.0.0.1:${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
