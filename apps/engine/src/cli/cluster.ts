// `npm run cluster -- --engines N [--port 4000] [--web-port 3000] [--no-web] [--sticky] [--workers K]`
// The studio on several engines on this machine: Redis (REDIS_URL, else a throwaway redis-server),
// one Postgres (DATABASE_URL, else an embedded one in .data/cluster-postgres, so rooms survive a
// restart of the cluster), N engines on ports port+1..port+N, a TCP balancer on --port (the public
// engine port) and the web app on --web-port pointing at the balancer. Ctrl-C stops everything, the
// engines first (they drain: hand over / save their rooms), then Redis and Postgres.
//
// Why two processes: a terminal's Ctrl-C goes to the whole foreground process group, so Postgres and
// Redis would be stopped at the same moment as the engines, under their last saves. This process
// starts a supervisor in its own process group (everything else runs under it) and passes signals
// on to it; if this process dies, the supervisor sees its stdin close and stops everything.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const MAX_ENGINES = 16;
const USAGE =
  'usage: npm run cluster -- --engines N [--port 4000] [--web-port 3000] [--no-web] [--sticky] [--workers K]';

export interface ClusterArgs {
  engines: number;
  port: number;
  webPort: number;
  web: boolean;
  sticky: boolean;
  workers?: number;
  help: boolean;
}

export class ArgError extends Error {
  constructor(
    message: string,
    readonly hint = USAGE,
  ) {
    super(message);
  }
}

export function parseArgs(argv: string[]): ClusterArgs {
  const out: ClusterArgs = { engines: 2, port: 4000, webPort: 3000, web: true, sticky: false, help: false };
  const whole = (name: string, v: string | undefined, min: number, max: number, hint: string) => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new ArgError(
        `--${name} must be a whole number from ${min} to ${max} (got ${v === undefined ? 'nothing' : `"${v}"`})`,
        hint,
      );
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=')
      ? [argv[i]!.slice(0, argv[i]!.indexOf('=')), argv[i]!.slice(argv[i]!.indexOf('=') + 1)]
      : [argv[i]!, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--engines':
      case '-n':
        out.engines = whole('engines', value(), 1, MAX_ENGINES, 'e.g. --engines 3');
        break;
      case '--port':
        out.port = whole(
          'port',
          value(),
          1,
          65535 - MAX_ENGINES,
          'e.g. --port 4000 (the engines use the ports after it)',
        );
        break;
      case '--web-port':
        out.webPort = whole('web-port', value(), 1, 65535, 'e.g. --web-port 3000');
        break;
      case '--workers':
        out.workers = whole(
          'workers',
          value(),
          0,
          256,
          'sampler worker threads per engine; 0 samples on the main thread',
        );
        break;
      case '--no-web':
        out.web = false;
        break;
      case '--sticky':
        out.sticky = true;
        break;
      case '--help':
      case '-h':
        out.help = true;
        break;
      default:
        throw new ArgError(`unknown option "${argv[i]}"`);
    }
  }
  if (out.web && out.webPort >= out.port && out.webPort <= out.port + out.engines)
    throw new ArgError(
      `--web-port ${out.webPort} collides with the engine ports ${out.port}..${out.port + out.engines}`,
      'pick another --web-port or --port',
    );
  return out;
}

function fail(line: string, code = 1): never {
  console.error(`[cluster] error: ${line}`);
  process.exit(code);
}

/** The foreground process: start the supervisor in its own process group and pass signals on to it. */
function wrapper(argv: string[]) {
  try {
    if (parseArgs(argv).help) {
      console.log(USAGE);
      process.exit(0);
    }
  } catch (err) {
    const e = err as ArgError;
    fail(`${e.message} — ${e.hint}`, 2);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...argv], {
    cwd: ROOT,
    detached: true,
    stdio: ['pipe', 'inherit', 'inherit'],
    env: { ...process.env, PPGN_CLUSTER_SUPERVISOR: '1' },
  });
  // one Ctrl-C can arrive twice (from the terminal, and relayed by tsx/npm): a second one within a
  // second is the same keypress; a later one means "stop now"
  let last = 0;
  const pass = () => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    child.kill('SIGTERM');
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, pass);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** The supervisor: everything runs under it. */
async function supervisor(argv: string[]) {
  const { spawn: spawnChild, spawnSync } = await import('node:child_process');
  const { startCluster, ClusterError, portFree } = await import('../launch/cluster');
  const { REDIS_INSTALL_HINT, hasRedisServer } = await import('../launch/redis');
  // @ppgn/db's embedded Postgres installs exit hooks that stop the database on SIGINT/SIGTERM at
  // once; the engines must drain first, so this process handles the signals itself.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(s);

  let args: ClusterArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    const e = err as ArgError;
    return fail(`${e.message} — ${e.hint}`, 2);
  }
  const log = (l: string) => console.log(l);
  const env: NodeJS.ProcessEnv = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
  delete env.PPGN_CLUSTER_SUPERVISOR;

  // everything the user can fix, before anything starts
  const ports = [args.port, ...Array.from({ length: args.engines }, (_, i) => args.port + 1 + i)];
  for (const p of ports) {
    if (!(await portFree(p)))
      fail(
        p === args.port
          ? `port ${p} is already in use — stop the other process or pick another --port`
          : `port ${p} (engine ${p - args.port}) is already in use — stop the other process or pick another --port (engines use --port+1 … --port+N)`,
      );
  }
  if (args.web && !(await portFree(args.webPort)))
    fail(`port ${args.webPort} is already in use — stop the other process or pick another --web-port (or --no-web)`);
  if (!process.env.REDIS_URL && !hasRedisServer()) fail(`redis-server is not installed — ${REDIS_INSTALL_HINT}`);

  if (args.web) {
    log('[cluster] building the web app (cached after the first run)…');
    const build = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@ppgn/web', '--output-logs=errors-only'], {
      cwd: ROOT,
      env,
      stdio: 'inherit',
    });
    if (build.status !== 0) fail('building the web app failed (see above)');
  }

  let shuttingDown = 0;
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let web: import('node:child_process').ChildProcess | undefined;
  const shutdown = async (code = 0) => {
    shuttingDown += 1;
    if (shuttingDown > 1) {
      log('[cluster] stopping now (engines killed without draining)');
      for (const e of cluster?.engines ?? []) e.kill('SIGKILL');
      web?.kill('SIGKILL');
      return;
    }
    log('[cluster] stopping: engines drain first (Ctrl-C again to kill them)…');
    web?.kill('SIGTERM');
    await cluster?.stop();
    if (web && web.exitCode === null && web.signalCode === null) await new Promise((r) => web!.once('exit', r));
    log('[cluster] stopped');
    process.exit(code);
  };
  const onSignal = () => void shutdown();
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of SIGNALS) process.on(s, onSignal);
  // the foreground process went away without passing a signal on (killed): stop too
  process.stdin.on('end', () => void shutdown());
  process.stdin.on('error', () => void shutdown());
  process.stdin.resume();

  const dataDir = process.env.PPGN_CLUSTER_DATA_DIR || path.join(ROOT, '.data', 'cluster-postgres');
  try {
    cluster = await startCluster({
      engines: args.engines,
      basePort: args.port + 1,
      host: '0.0.0.0',
      dataDir,
      samplerWorkers: args.workers,
      balancer: { port: args.port, host: '0.0.0.0', sticky: args.sticky },
      log,
      onEngineExit: (e, code, signal) => {
        const left = cluster!.engines.filter((x) => !x.dead).length;
        if (left === 0) {
          console.error(
            `[cluster] error: ${e.name} stopped (${code ?? signal}) and no engine is left — see the lines above`,
          );
          void shutdown(1);
        } else
          console.error(
            `[cluster] ${e.name} stopped (${code ?? signal}); its rooms move to the ${left} other engine(s), the balancer skips it`,
          );
      },
    });
  } catch (err) {
    if (err instanceof ClusterError) fail(err.line());
    fail(`the cluster did not start: ${(err as Error).stack ?? err}`);
  }
  // starting the embedded Postgres registered its package's exit hooks, which stop the database (and exit)
  // on the first signal, under the engines' last saves and before Redis is stopped: only ours stay
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (l !== onSignal) process.removeListener(s, l);
  if (shuttingDown) return;

  if (args.web) {
    const nextBin = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
    const w = spawnChild(process.execPath, [nextBin, 'start', '-p', String(args.webPort)], {
      cwd: path.join(ROOT, 'apps/web'),
      env: { ...env, PORT: String(args.webPort), ENGINE_PORT: String(args.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    web = w;
    const ready = await new Promise<boolean>((resolve) => {
      let buf = '';
      const onData = (stream: NodeJS.WriteStream) => (b: Buffer) => {
        const text = b.toString();
        stream.write(text.replace(/^(?=.)/gm, '[web] '));
        buf += text;
        if (/Ready in|started server|Local:/.test(buf)) resolve(true);
      };
      w.stdout!.on('data', onData(process.stdout));
      w.stderr!.on('data', onData(process.stderr));
      w.once('exit', () => resolve(false));
    });
    if (!ready) {
      console.error('[cluster] error: the web app did not start (see the lines above)');
      return void shutdown(1);
    }
    w.on('exit', (code, signal) => {
      if (shuttingDown) return;
      console.error(`[cluster] error: the web app stopped unexpectedly (${code ?? signal})`);
      void shutdown(1);
    });
  }

  const c = cluster!;
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    '',
    args.web
      ? `  PPGN Studio is running on ${c.engines.length} engine(s):  http://localhost:${args.webPort}`
      : `  PPGN engines are running (${c.engines.length}, no web app)`,
    `  Engine API (balancer, ${args.sticky ? 'sticky by client address' : 'round-robin'}):  http://localhost:${args.port}/health`,
    ...c.engines.map(
      (e) => `    ${pad(e.name, 10)} http://localhost:${e.port}/health${e.id ? `   id ${e.id}` : ''}   pid ${e.pid}`,
    ),
    `  Redis:     ${c.started.redis ? `${c.redisUrl} (started here, no persistence)` : `${c.redisUrl} (REDIS_URL)`}`,
    `  Postgres:  ${c.started.postgres ? `embedded on 127.0.0.1:${c.started.postgres.port}, data in ${path.relative(ROOT, dataDir)}` : 'DATABASE_URL'}`,
    '  Press Ctrl-C to stop (engines drain first).',
    '',
  ];
  log(lines.join('\n'));
}

const argv = process.argv.slice(2);
const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  if (process.env.PPGN_CLUSTER_SUPERVISOR === '1') {
    supervisor(argv).catch((err) => fail(`unexpected: ${(err as Error)?.stack ?? err}`));
  } else wrapper(argv);
}
