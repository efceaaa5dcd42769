// Several engines on one machine as one cluster (`npm run cluster`, the loadtest, tests): a Redis
// (REDIS_URL, else a throwaway redis-server), ONE Postgres for all of them (DATABASE_URL, else an
// embedded one), migrated once here before any engine starts, then N engine processes on
// consecutive ports, each told where the others reach it (PPGN_ENGINE_URL); optionally the TCP
// balancer in front. `stop()` sends every engine SIGTERM (an engine drains: hands its rooms over /
// saves them), waits, and only then stops the Redis and Postgres it started.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { migrate, redactUrl, startEmbeddedPostgres } from '@ppgn/db';
import { startBalancer, type Balancer } from './balancer';
import { ENGINE_READY, spawnEngine } from './engine-process';
import { REDIS_INSTALL_HINT, hasRedisServer, startRedis, type LocalRedis } from './redis';

export const MAX_ENGINES = 16;

/** A problem the user can fix: one line "what is wrong — what to do". */
export class ClusterError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
  line(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }
}

export interface ClusterOptions {
  /** how many engines (1..MAX_ENGINES) */
  engines: number;
  /** the first engine's port; the others follow (basePort+1, …). Default: a free run of ports. */
  basePort?: number;
  /** ENGINE_HOST of every engine (default 127.0.0.1; `npm run cluster` uses 0.0.0.0) */
  host?: string;
  /** shared Postgres (default: DATABASE_URL; unset → one embedded Postgres started here) */
  databaseUrl?: string;
  /** data directory of the embedded Postgres (default: a temp dir, deleted on stop) */
  dataDir?: string;
  /** Redis (default: REDIS_URL; unset → a throwaway redis-server started here) */
  redisUrl?: string;
  /** PPGN_MODELS_DIR / PPGN_PACKS of every engine (default: the engines' own defaults) */
  modelsDir?: string;
  packs?: string[];
  /** PPGN_SAMPLER_WORKERS of every engine */
  samplerWorkers?: number;
  /** more environment for every engine (overrides the inherited environment, not the cluster's own variables) */
  env?: Record<string, string | undefined>;
  /** a TCP balancer in front of the engines (`true`: a free loopback port) */
  balancer?: boolean | { port?: number; host?: string; sticky?: boolean };
  /** where lines go: the cluster's own and every engine's output prefixed `[engine-N] ` (default console.log) */
  log?: (line: string) => void;
  /** called when an engine exits that was not asked to (its rooms are adopted by the others) */
  onEngineExit?: (engine: ClusterEngine, code: number | null, signal: NodeJS.Signals | null) => void;
  /** how long an engine may take to print its ready line (default 180 s) */
  readyTimeoutMs?: number;
  /** how long an engine may take to drain on SIGTERM before it is killed (default 60 s) */
  stopTimeoutMs?: number;
}

export interface ClusterEngine {
  /** `engine-1`, `engine-2`, … (the output prefix) */
  name: string;
  /** the engine's own id from /health (`engine.id`), when it reports one */
  id?: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** the last lines it printed */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, wait for it to drain and exit (SIGKILL after stopTimeoutMs); resolves with the exit code */
  stop(): Promise<number | null>;
  exited(): Promise<number | null>;
  /** true once it has exited */
  readonly dead: boolean;
}

export interface Cluster {
  engines: ClusterEngine[];
  redisUrl: string;
  databaseUrl: string;
  /** what this launcher started itself (and stops in stop()) */
  started: { redis?: LocalRedis; postgres?: { url: string; dataDir: string; port: number } };
  balancer?: Balancer;
  stop(): Promise<void>;
}

export function portFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** N consecutive free ports: from `base` (each must be free) or a free run found here. */
export async function consecutivePorts(n: number, base?: number, host = '0.0.0.0'): Promise<number[]> {
  if (base !== undefined) {
    const ports = Array.from({ length: n }, (_, i) => base + i);
    if (ports[ports.length - 1]! > 65535)
      throw new ClusterError(`engine ports ${base}..${base + n - 1} go past 65535`, 'pick a lower --port');
    for (const p of ports) {
      if (!(await portFree(p, host)))
        throw new ClusterError(
          `port ${p} is already in use`,
          'stop the other process or pick another --port (engines use the ports after it)',
        );
    }
    return ports;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = await freePort();
    if (start + n - 1 > 65535) continue;
    const ports = Array.from({ length: n }, (_, i) => start + i);
    let ok = true;
    for (const p of ports) if (!(ok = await portFree(p, host))) break;
    if (ok) return ports;
  }
  throw new ClusterError(`found no ${n} consecutive free ports`, 'pass basePort (--port) explicitly');
}

/** A line-buffered writer that prefixes every line (and keeps the last ones for error messages). */
function prefixer(prefix: string, log: (l: string) => void) {
  let partial = '';
  const tail: string[] = [];
  return {
    write(chunk: Buffer | string) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 80) tail.shift();
        log(`${prefix} ${l.replace(/^\[engine\] /, '')}`);
      }
    },
    flush() {
      if (partial) this.write('\n');
    },
    text: () => [...tail, partial].join('\n'),
  };
}

/** The engine's one-line reason (`[engine] error: …`) from its output, else its last line. */
function reasonFrom(output: string): string {
  const lines = output.split('\n').filter((l) => l.trim());
  const err = lines.find((l) => /\[engine\] (?:unexpected )?error: /.test(l));
  return (err ?? lines[lines.length - 1] ?? '(no output)').replace(/^\[engine\] /, '').trim();
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const n = opts.engines;
  if (!Number.isInteger(n) || n < 1 || n > MAX_ENGINES)
    throw new ClusterError(
      `the number of engines must be a whole number from 1 to ${MAX_ENGINES} (got ${n})`,
      'e.g. --engines 3',
    );
  const log = opts.log ?? ((l: string) => console.log(l));
  const host = opts.host ?? '127.0.0.1';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 60_000;
  const started: Cluster['started'] = {};
  const cleanups: (() => Promise<void>)[] = [];
  const engines: ClusterEngine[] = [];
  let stopping = false;

  const teardown = async () => {
    stopping = true;
    await Promise.all(engines.map((e) => e.stop()));
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };

  try {
    const ports = await consecutivePorts(n, opts.basePort, host);
    if (
      opts.balancer &&
      typeof opts.balancer === 'object' &&
      opts.balancer.port &&
      !(await portFree(opts.balancer.port, opts.balancer.host ?? '127.0.0.1'))
    )
      throw new ClusterError(
        `port ${opts.balancer.port} is already in use`,
        'stop the other process or pick another --port',
      );

    // the engines' shared secret: the caller's (PPGN_CLUSTER_SECRET), else a fresh random one
    const clusterSecret = process.env.PPGN_CLUSTER_SECRET?.trim() || randomBytes(24).toString('hex');

    // Redis
    let redisUrl = opts.redisUrl ?? process.env.REDIS_URL ?? '';
    if (!redisUrl) {
      if (!hasRedisServer()) throw new ClusterError('redis-server is not installed', REDIS_INSTALL_HINT);
      const redis = await startRedis();
      started.redis = redis;
      redisUrl = redis.url;
      cleanups.push(() => redis.stop());
      log(`[cluster] redis-server on ${redis.url}`);
    }

    // one Postgres, migrated once (the engines' own migrations then find nothing to do)
    let databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL ?? '';
    if (!databaseUrl) {
      const temp = opts.dataDir ? undefined : mkdtempSync(path.join(os.tmpdir(), 'ppgn-cluster-pg-'));
      const dataDir = opts.dataDir ?? path.join(temp!, 'pg');
      let pg;
      try {
        pg = await startEmbeddedPostgres({ dataDir, ephemeral: Boolean(temp) });
      } catch (err) {
        if (temp) rmSync(temp, { recursive: true, force: true });
        const msg = (err as Error).message;
        throw new ClusterError(
          msg,
          /lock file|already running|postmaster\.pid/i.test(msg)
            ? `another cluster is using ${dataDir}; stop it first`
            : 'set DATABASE_URL to an existing Postgres, or delete the data directory to start afresh',
        );
      }
      started.postgres = { url: pg.url, dataDir, port: pg.port };
      databaseUrl = pg.url;
      cleanups.push(async () => {
        await pg.stop();
        if (temp) rmSync(temp, { recursive: true, force: true });
      });
      log(`[cluster] Postgres (embedded) on 127.0.0.1:${pg.port}, data in ${dataDir}`);
    }
    try {
      const res = await migrate(databaseUrl);
      if (res.applied.length) log(`[cluster] applied migrations: ${res.applied.join(', ')}`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ClusterError(
        `cannot migrate the database at ${redactUrl(databaseUrl)} (${e.code ?? e.message.split('\n')[0]})`,
        'check that Postgres is running and DATABASE_URL is right, or unset DATABASE_URL for an embedded one',
      );
    }

    // the engines, all at once (each waits for its ready line)
    const startEngine = (i: number, port: number): Promise<ClusterEngine> => {
      const name = `engine-${i + 1}`;
      const out = prefixer(`[${name}]`, log);
      const url = `http://127.0.0.1:${port}`;
      const child = spawnEngine({
        ...(opts.modelsDir ? { PPGN_MODELS_DIR: opts.modelsDir } : {}),
        ...(opts.packs ? { PPGN_PACKS: opts.packs.join(',') } : {}),
        // engines on one machine share its cores: by default they split them (at least one worker each)
        PPGN_SAMPLER_WORKERS: String(
          opts.samplerWorkers ?? Math.max(1, Math.floor(os.availableParallelism() / opts.engines)),
        ),
        ...opts.env,
        REDIS_URL: redisUrl,
        DATABASE_URL: databaseUrl,
        PPGN_CLUSTER_SECRET: clusterSecret,
        ENGINE_PORT: String(port),
        ENGINE_HOST: host,
        PPGN_ENGINE_URL: url,
      });
      child.stdout!.on('data', (b) => out.write(b));
      child.stderr!.on('data', (b) => out.write(b));
      let dead = false;
      let asked = false;
      let ready = false;
      const exit = new Promise<number | null>((resolve) =>
        child.on('exit', (code, signal) => {
          dead = true;
          out.flush();
          resolve(code);
          if (!asked && !stopping && ready) opts.onEngineExit?.(engine, code, signal);
        }),
      );
      const engine: ClusterEngine = {
        name,
        url,
        port,
        pid: child.pid!,
        child,
        output: () => out.text(),
        kill: (signal = 'SIGTERM') => void child.kill(signal),
        async stop() {
          asked = true;
          if (dead) return child.exitCode;
          child.kill('SIGTERM');
          const t = setTimeout(() => {
            log(`[cluster] ${name} did not stop within ${stopTimeoutMs / 1000} s; killing it`);
            child.kill('SIGKILL');
          }, stopTimeoutMs);
          const code = await exit;
          clearTimeout(t);
          return code;
        },
        exited: () => exit,
        get dead() {
          return dead;
        },
      };
      return new Promise<ClusterEngine>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new ClusterError(
                `${name} was not ready within ${readyTimeoutMs / 1000} s`,
                `see its output above (port ${port})`,
              ),
            ),
          readyTimeoutMs,
        );
        const check = () => {
          if (!ready && ENGINE_READY.test(out.text())) {
            ready = true;
            clearTimeout(timer);
            resolve(engine);
          }
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        void exit.then((code) => {
          if (ready) return;
          clearTimeout(timer);
          const reason = reasonFrom(out.text());
          const m = /^error: (.*?)(?: — (.*))?$/.exec(reason);
          reject(
            new ClusterError(
              `${name} (port ${port}) did not start: ${m ? m[1] : `${reason} (exit code ${code})`}`,
              m?.[2] ?? '',
            ),
          );
        });
      }).catch((err) => {
        engines.push(engine); // so teardown stops it too
        throw err;
      });
    };
    const results = await Promise.allSettled(ports.map((p, i) => startEngine(i, p)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const r of results) if (r.status === 'fulfilled') engines.push(r.value);
    engines.sort((a, b) => a.port - b.port);
    if (failed) throw failed.reason;

    // their ids, where /health reports them (an engine without cluster support reports none)
    await Promise.all(
      engines.map(async (e) => {
        try {
          const h = (await (await fetch(`${e.url}/health`, { signal: AbortSignal.timeout(5000) })).json()) as {
            engine?: { id?: string };
          };
          if (h.engine?.id) e.id = h.engine.id;
        } catch {
          /* display only */
        }
      }),
    );

    let balancer: Balancer | undefined;
    if (opts.balancer) {
      const b = typeof opts.balancer === 'object' ? opts.balancer : {};
      try {
        balancer = await startBalancer({
          backends: engines.map((e) => ({ host: '127.0.0.1', port: e.port })),
          port: b.port,
          host: b.host,
          sticky: b.sticky,
          log: (l) => log(`[balancer] ${l}`),
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE')
          throw new ClusterError(`port ${b.port} is already in use`, 'stop the other process or pick another --port');
        throw err;
      }
    }

    let stopped: Promise<void> | undefined;
    return {
      engines,
      redisUrl,
      databaseUrl,
      started,
      balancer,
      stop() {
        stopped ??= (async () => {
          await balancer?.close();
          await teardown();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
