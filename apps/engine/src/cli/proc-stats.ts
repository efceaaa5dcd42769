// What the benchmarks (loadtest, soak) share: the pack and environment of the engine they start, and what they
// read about processes on Linux (CPU ticks and RSS from /proc, a Postgres server's CPU, free ports).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildRandomEmoji64Pack } from '@ppgn/core';
import { listPacks, savePack } from '@ppgn/core/node';
import { modelsDirOf } from '../config';

/** The models folder to benchmark: the trained packs, else a random pack of emoji64's architecture under `tmp`. */
export async function benchModels(tmp: string): Promise<{ modelsDir: string; packNote: string }> {
  const models = modelsDirOf();
  if (existsSync(models) && (await listPacks(models)).some((p) => !('error' in p && p.error)))
    return { modelsDir: models, packNote: 'models/' };
  const modelsDir = path.join(tmp, 'models');
  const pack = buildRandomEmoji64Pack(1);
  await savePack(path.join(modelsDir, 'random-emoji64-arch'), pack);
  pack.dispose();
  return { modelsDir, packNote: 'random-emoji64-arch (no trained pack found)' };
}

/** The environment of one engine on loopback with its own embedded Postgres, without per-address limits on identities and rooms. */
export function singleEngineEnv(port: number, pgDir: string, modelsDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ENGINE_PORT: String(port),
    ENGINE_HOST: '127.0.0.1',
    DATABASE_URL: '',
    REDIS_URL: '',
    PPGN_DATA_DIR: pgDir,
    PPGN_MODELS_DIR: modelsDir,
    PPGN_RATE_IDENTITIES: '1000000',
    PPGN_RATE_ROOMS: '1000000',
  };
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** utime + stime of a process (all its threads), optionally + its reaped children's */
export function cpuTicks(pid: number, withChildren = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** the postmaster of a Postgres data directory: its pid and port (postmaster.pid), or null */
export function postmaster(dataDir: string): { pid: number; port: number } | null {
  try {
    const lines = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    return Number.isInteger(pid) && pid > 0 ? { pid, port } : null;
  } catch {
    return null;
  }
}

/** A Postgres server's CPU: the postmaster with its reaped backends, plus the live backends. */
export function postgresTicks(dataDir: string): number {
  const pm = postmaster(dataDir)?.pid;
  if (!pm) return 0;
  let ticks = cpuTicks(pm, true);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pm) ticks += cpuTicks(Number(d));
    } catch {
      /* gone */
    }
  }
  return ticks;
}

export const round1 = (x: number) => Number(x.toFixed(1));
