// `npm run loadtest -- --rooms R --clients C --seconds S [--fps F] [--steer-every MS] [--steer-together] [--engines N] [--compare]`
// Starts a real engine process on loopback (own embedded Postgres in a temp dir), opens R rooms with
// C socket.io clients each, steers every room periodically (each at its own moment, or all at once)
// and measures steer-to-frame latency (intent sent → first frame sampled under the new version),
// frames per client, engine CPU and memory. Bounded in time; prints one JSON object last.
//
// `--engines N` (N > 1): a cluster through launch/cluster.ts instead (a throwaway Redis, one embedded
// Postgres, N engines); room r is created through engine r mod N and its clients connect round-robin
// over the engines (client c of room r → engine (r + c) mod N), so every room has clients on several
// engines; the JSON gains per-engine CPU / RSS, Redis and Postgres CPU, the load generator's own CPU
// and the whole machine's. `--compare`: the same load on one engine first (the default mode), then on
// N; prints a table of both, then `{"single": …, "cluster": …}`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@ppgn/shared';
import { ClusterError, MAX_ENGINES, startCluster } from '../launch/cluster';
import { ENGINE_READY, spawnEngine } from '../launch/engine-process';
import { benchModels, cpuTicks, freePort, postgresTicks, round1, rssMb, singleEngineEnv } from './proc-stats';

type Sock = Socket<ServerToClientEvents, ClientToServerEvents>;

function usage(line: string): never {
  console.error(line);
  process.exit(2);
}

const HELP = `usage: npm run loadtest -- [--rooms R] [--clients C] [--seconds S] [--fps F] [--steer-every MS] [--steer-together]
  [--engines N] [--compare]

  --rooms R          rooms to open (default 10, at most 50)
  --clients C        socket.io clients per room (default 20, at most 100)
  --seconds S        how long to measure (default 20, at most 300)
  --fps F            each room's frame rate (default 10)
  --steer-every MS   each room is steered this often (default 1000), each room at its own moment
                     (room r at r/R of the period)
  --steer-together   every room steered in the same millisecond instead (the worst case)
  --engines N        a cluster of N engines behind Redis instead of one engine
  --compare          the same load on one engine, then on --engines N; a table of both
  --help             this text

Prints one JSON object last: steer→frame p50/p95 (and split at the frame's making: made_*, delivered_*),
steer→ack p50/p95, the load generator's own event-loop delay p95, frames per client per second, engine CPU, peak RSS.`;
const FLAGS = new Set([
  'rooms',
  'clients',
  'seconds',
  'fps',
  'steer-every',
  'steer-together',
  'engines',
  'compare',
  'help',
  'h',
]);
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
for (const a of process.argv.slice(2))
  if (a.startsWith('-') && !FLAGS.has(a.replace(/^-+/, ''))) usage(`unknown option ${a}\n\n${HELP}`);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) usage(`--${name} must be a positive number`);
  return v;
}

const ROOMS = Math.min(50, arg('rooms', 10));
const CLIENTS = Math.min(100, arg('clients', 20));
const SECONDS = Math.min(300, arg('seconds', 20));
const FPS = Math.min(30, arg('fps', 10));
const STEER_MS = arg('steer-every', 1000);
const ENGINES = arg('engines', 1);
const COMPARE = process.argv.includes('--compare');
const TOGETHER = process.argv.includes('--steer-together');
if (!Number.isInteger(ENGINES) || ENGINES > MAX_ENGINES)
  usage(`--engines must be a whole number from 1 to ${MAX_ENGINES}`);
if (COMPARE && ENGINES < 2) usage('--compare runs one engine, then --engines N: give --engines 2 or more');

/** busy and total jiffies of the whole machine (all cores) */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** An engine under load: where clients reach it and which processes to measure. */
interface Target {
  name: string;
  base: string;
  pid: number;
}

interface Deployment {
  targets: Target[];
  /** the engines' output, for the backend name and error messages */
  output(): string;
  /** CPU ticks of the database (and Redis) processes, where known */
  extraTicks(): { postgres?: number; redis?: number };
  stop(): Promise<void>;
}

async function single(tmp: string, modelsDir: string): Promise<Deployment> {
  const port = await freePort();
  const pgDir = path.join(tmp, 'pg');
  const engine = spawnEngine(singleEngineEnv(port, pgDir, modelsDir));
  let out = '';
  engine.stdout!.on('data', (b) => (out += b));
  engine.stderr!.on('data', (b) => (out += b));
  const stop = async () => {
    engine.kill('SIGTERM');
    await new Promise((r) => (engine.exitCode !== null || engine.signalCode !== null ? r(null) : engine.on('exit', r)));
  };
  const t0 = Date.now();
  while (!ENGINE_READY.test(out)) {
    if (engine.exitCode !== null || Date.now() - t0 > 120_000) {
      await stop();
      throw new Error(`engine did not start:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    targets: [{ name: 'engine', base: `http://127.0.0.1:${port}`, pid: engine.pid! }],
    output: () => out,
    extraTicks: () => ({ postgres: postgresTicks(pgDir) }),
    stop,
  };
}

async function cluster(n: number, modelsDir: string): Promise<Deployment> {
  const lines: string[] = [];
  const c = await startCluster({
    engines: n,
    modelsDir,
    databaseUrl: '',
    redisUrl: '',
    env: { PPGN_RATE_IDENTITIES: '1000000', PPGN_RATE_ROOMS: '1000000' },
    log: (l) => {
      lines.push(l);
      if (lines.length > 400) lines.shift();
    },
  });
  const pgDir = c.started.postgres?.dataDir;
  const redisPid = c.started.redis?.child.pid;
  return {
    targets: c.engines.map((e) => ({ name: e.name, base: e.url, pid: e.pid })),
    output: () => lines.join('\n'),
    extraTicks: () => ({
      postgres: pgDir ? postgresTicks(pgDir) : undefined,
      redis: redisPid ? cpuTicks(redisPid) : undefined,
    }),
    stop: () => c.stop(),
  };
}

interface EngineResult {
  name: string;
  clients: number;
  frames_per_client_per_s: number;
  cpu_percent: number;
  peak_rss_mb: number;
  /** from the engine's /health (`engine.chains`), when it reports it */
  chains?: number;
}

async function runLoad(dep: Deployment, packNote: string) {
  const { targets } = dep;
  const n = targets.length;
  const packs = (await (await fetch(`${targets[0]!.base}/packs`)).json()) as {
    id: string;
    conditionSpecs: { id: string; kind: string; labels?: string[] }[];
  }[];
  const cls = packs[0]!.conditionSpecs.find((c) => c.kind === 'classes')!;
  console.error(
    `[loadtest] ${n === 1 ? 'engine' : `${n} engines`} up (${packNote}); ${ROOMS} rooms × ${CLIENTS} clients for ${SECONDS}s at ${FPS} fps`,
  );

  const latencies: number[] = [];
  /** the same steers split at the frame's making (its `at`, the engine's clock = this machine's): steer → frame
   * made in the engine, and frame made → handled here (sending, the client library, this process's event loop) */
  const made: number[] = [];
  const delivered: number[] = [];
  /** intent sent → its ack (the change applied, versioned and broadcast as a patch) */
  const acks: number[] = [];
  const framesPerClient: number[] = [];
  const clientEngine: number[] = [];
  const sockets: Sock[] = [];
  const rooms: { id: string; token: string; pending: { version: number; sentAt: number }[]; steer?: Sock }[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const res = await fetch(`${targets[r % n]!.base}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        author: 'loadtest',
        conditions: [{ target: { kind: 'class', condition: cls.id, labels: [cls.labels![r % cls.labels!.length]] } }],
        params: { fps: FPS },
      }),
    });
    if (!res.ok) throw new Error(`POST /rooms through ${targets[r % n]!.name}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { id: string; tokens: { editor: string } };
    rooms.push({ id: body.id, token: body.tokens.editor, pending: [] });
  }
  let measuring = false;
  await Promise.all(
    rooms.flatMap((room, r) =>
      Array.from({ length: CLIENTS }, async (_, c) => {
        const e = (r + c) % n;
        const s: Sock = io(targets[e]!.base, { transports: ['websocket'], forceNew: true, reconnection: false });
        sockets.push(s);
        if (c === 0) room.steer = s;
        let frames = 0;
        const idx = framesPerClient.push(0) - 1;
        clientEngine[idx] = e;
        s.on('room:frame', (f) => {
          if (!measuring) return;
          frames++;
          framesPerClient[idx] = frames;
          if (c === 0) {
            // the steering client measures: first frame sampled under (or after) the version it created
            const now = Date.now();
            while (room.pending.length && f.version >= room.pending[0]!.version) {
              const sentAt = room.pending.shift()!.sentAt;
              latencies.push(now - sentAt);
              made.push(f.at - sentAt);
              delivered.push(now - f.at);
            }
          }
        });
        const res = await s
          .timeout(30_000)
          .emitWithAck('room:join', { roomId: room.id, token: room.token, name: `c${c}` });
        if (!res.ok) throw new Error(res.error);
      }),
    ),
  );
  const cpu0 = targets.map((t) => cpuTicks(t.pid));
  const extra0 = dep.extraTicks();
  const self0 = process.cpuUsage();
  const machine0 = machineTicks();
  const wall0 = Date.now();
  // how late this process runs its callbacks: a frame that reached the socket waits that long to be counted
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  measuring = true;
  // Each room's steering person acts on their own: room r steers at r/R of the period, every period. With
  // --steer-together every room steers in the same millisecond (the worst case: all chains change at once)
  const timers: ReturnType<typeof setTimeout>[] = [];
  rooms.forEach((room, r) => {
    let round = 0;
    const steerOnce = () => {
      round++;
      const eps = 0.001 + (round % 100) * 1e-5; // a new value every time, so every steer is a change
      const sentAt = Date.now();
      room
        .steer!.timeout(10_000)
        .emitWithAck('room:intent', { type: 'params.set', params: { eps3: eps } })
        .then((ack) => {
          if (measuring) acks.push(Date.now() - sentAt);
          if (ack.ok) room.pending.push({ version: ack.version, sentAt });
        })
        .catch(() => {});
    };
    const phase = TOGETHER ? STEER_MS : STEER_MS * (1 + r / ROOMS);
    timers.push(
      setTimeout(() => {
        steerOnce();
        timers.push(setInterval(steerOnce, STEER_MS));
      }, phase),
    );
  });
  const peakRss = targets.map(() => 0);
  const sampler = setInterval(() => targets.forEach((t, i) => (peakRss[i] = Math.max(peakRss[i]!, rssMb(t.pid)))), 500);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  loopDelay.disable();
  for (const t of timers) clearTimeout(t);
  clearInterval(sampler);
  const wall = (Date.now() - wall0) / 1000;
  const cpuPct = targets.map((t, i) => round1(((cpuTicks(t.pid) - cpu0[i]!) / 100 / wall) * 100));
  const extra1 = dep.extraTicks();
  const self = process.cpuUsage(self0);
  const machine1 = machineTicks();
  const chains = await Promise.all(
    targets.map(async (t) => {
      try {
        const h = (await (await fetch(`${t.base}/health`, { signal: AbortSignal.timeout(5000) })).json()) as {
          engine?: { chains?: number };
        };
        return typeof h.engine?.chains === 'number' ? h.engine.chains : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  for (const s of sockets) s.close();
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const result: Record<string, unknown> = {
    ...(n > 1 ? { engines: n } : {}),
    rooms: ROOMS,
    clients: CLIENTS,
    seconds: SECONDS,
    fps_target: FPS,
    steering: TOGETHER ? 'together' : 'each room at its own moment',
    pack: packNote,
    // one engine prints "[engine] backend: …"; the cluster launcher prefixes each engine's lines with its name
    backend: /\[engine(?:-\d+)?\] backend: ([\w-]+)/.exec(dep.output())?.[1] ?? 'unknown',
    steers_measured: latencies.length,
    p50_ms: pct(latencies, 50),
    p95_ms: pct(latencies, 95),
    made_p50_ms: pct(made, 50),
    made_p95_ms: pct(made, 95),
    delivered_p50_ms: pct(delivered, 50),
    delivered_p95_ms: pct(delivered, 95),
    ack_p50_ms: pct(acks, 50),
    ack_p95_ms: pct(acks, 95),
    frames_per_client_per_s: Number((mean(framesPerClient) / wall).toFixed(2)),
    loadgen_loop_delay_p95_ms: round1(loopDelay.percentile(95) / 1e6),
    engine_cpu_percent: round1(cpuPct.reduce((a, b) => a + b, 0)),
    engine_peak_rss_mb: round1(peakRss.reduce((a, b) => a + b, 0)),
  };
  if (n > 1) {
    result.per_engine = targets.map((t, i): EngineResult => ({
      name: t.name,
      clients: clientEngine.filter((e) => e === i).length,
      frames_per_client_per_s: Number(
        (mean(framesPerClient.filter((_, k) => clientEngine[k] === i)) / wall).toFixed(2),
      ),
      cpu_percent: cpuPct[i]!,
      peak_rss_mb: round1(peakRss[i]!),
      ...(chains[i] !== undefined ? { chains: chains[i] } : {}),
    }));
  }
  // where the machine's CPU went (the load generator shares the cores with the engine)
  const ticksPct = (a?: number, b?: number) =>
    a === undefined || b === undefined ? null : round1(((b - a) / 100 / wall) * 100);
  if (extra1.redis !== undefined) result.redis_cpu_percent = ticksPct(extra0.redis, extra1.redis);
  result.postgres_cpu_percent = ticksPct(extra0.postgres, extra1.postgres);
  result.loadtest_cpu_percent = round1(((self.user + self.system) / 1e6 / wall) * 100);
  result.machine_cpu_percent = round1(
    ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100 * os.cpus().length,
  );
  result.cores = os.cpus().length;
  // frames every client of a room gets are that room's chain steps: steps per engine CPU-second is
  // what compares runs that got different CPU shares on a shared machine
  const cpu = (result.engine_cpu_percent as number) / 100;
  result.room_frames_per_engine_cpu_s =
    cpu > 0 ? round1(((result.frames_per_client_per_s as number) * ROOMS) / cpu) : null;
  return result;
}

async function run(engines: number, packNote: string, modelsDir: string, tmp: string) {
  const dep = engines === 1 ? await single(tmp, modelsDir) : await cluster(engines, modelsDir);
  try {
    return await runLoad(dep, packNote);
  } finally {
    await dep.stop();
  }
}

function table(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const rows: [string, (r: Record<string, unknown>) => unknown][] = [
    ['engines', (r) => r.engines ?? 1],
    ['rooms × clients', (r) => `${r.rooms} × ${r.clients}`],
    ['frames / client / s', (r) => r.frames_per_client_per_s],
    ['p50 steer→frame (ms)', (r) => r.p50_ms],
    ['p95 steer→frame (ms)', (r) => r.p95_ms],
    ['p95 steer→ack (ms)', (r) => r.ack_p95_ms],
    ['steers measured', (r) => r.steers_measured],
    ['engine CPU % (sum)', (r) => r.engine_cpu_percent],
    ['room frames / engine CPU-s', (r) => r.room_frames_per_engine_cpu_s],
    ['engine peak RSS MB (sum)', (r) => r.engine_peak_rss_mb],
    ['Redis CPU %', (r) => r.redis_cpu_percent ?? '—'],
    ['Postgres CPU %', (r) => r.postgres_cpu_percent ?? '—'],
    ['load generator CPU %', (r) => r.loadtest_cpu_percent],
    [`machine CPU % (of ${(a.cores as number) * 100})`, (r) => r.machine_cpu_percent],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const out = [`${''.padEnd(w)}  ${'1 engine'.padStart(12)}  ${`${b.engines} engines`.padStart(12)}`];
  for (const [k, f] of rows) out.push(`${k.padEnd(w)}  ${String(f(a)).padStart(12)}  ${String(f(b)).padStart(12)}`);
  for (const e of (b.per_engine as EngineResult[]) ?? [])
    out.push(
      `  ${e.name}: ${e.clients} clients, ${e.frames_per_client_per_s} frames/client/s, CPU ${e.cpu_percent} %, peak RSS ${e.peak_rss_mb} MB${e.chains !== undefined ? `, ${e.chains} chains` : ''}`,
    );
  return out.join('\n');
}

async function main() {
  // @ppgn/db (through the launcher) installs exit hooks that stop an embedded Postgres on SIGINT at
  // once; stop the engines first instead
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(s);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-loadtest-'));
  try {
    const { modelsDir, packNote } = await benchModels(tmp);
    if (COMPARE) {
      const one = await run(1, packNote, modelsDir, tmp);
      console.error(`[loadtest] 1 engine: ${JSON.stringify(one)}`);
      const many = await run(ENGINES, packNote, modelsDir, tmp);
      console.log(table(one, many));
      console.log(JSON.stringify({ single: one, cluster: many }));
    } else {
      console.log(JSON.stringify(await run(ENGINES, packNote, modelsDir, tmp)));
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`[loadtest] error: ${err instanceof ClusterError ? err.line() : (err as Error).message}`);
    process.exit(1);
  }
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}

void main();
