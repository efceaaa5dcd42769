// `npm run loadtest -- --rooms R --clients C --seconds S [--fps F] [--steer-every MS]`
// Starts a real engine process on loopback (own embedded Postgres in a temp dir), opens R rooms with
// C socket.io clients each, steers every room periodically and measures steer-to-frame latency
// (intent sent → first frame sampled under the new version), frames per client, engine CPU and
// memory. Bounded in time; prints one JSON object last.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { buildRandomEmoji64Pack } from '@ppgn/core';
import { listPacks, savePack } from '@ppgn/core/node';
import type { ClientToServerEvents, ServerToClientEvents } from '@ppgn/shared';
import { REPO_ROOT } from '../config';

type Sock = Socket<ServerToClientEvents, ClientToServerEvents>;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
  return v;
}

const ROOMS = Math.min(50, arg('rooms', 10));
const CLIENTS = Math.min(100, arg('clients', 20));
const SECONDS = Math.min(300, arg('seconds', 20));
const FPS = Math.min(30, arg('fps', 10));
const STEER_MS = arg('steer-every', 1000);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-loadtest-'));
  let modelsDir = process.env.PPGN_MODELS_DIR || path.join(REPO_ROOT, 'models');
  let packNote = 'models/';
  if (!existsSync(modelsDir) || (await listPacks(modelsDir)).filter((p) => !('error' in p && p.error)).length === 0) {
    modelsDir = path.join(tmp, 'models');
    const pack = buildRandomEmoji64Pack(1);
    await savePack(path.join(modelsDir, 'random-emoji64-arch'), pack);
    pack.dispose();
    packNote = 'random-emoji64-arch (no trained pack found)';
  }
  const port = await freePort();
  const engine = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'apps/engine/src/main.ts')], {
    env: { ...process.env, ENGINE_PORT: String(port), ENGINE_HOST: '127.0.0.1', DATABASE_URL: '', PPGN_DATA_DIR: path.join(tmp, 'pg'), PPGN_MODELS_DIR: modelsDir, PPGN_RATE_IDENTITIES: '1000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  engine.stdout.on('data', (b) => (out += b));
  engine.stderr.on('data', (b) => (out += b));
  const cleanup = async () => {
    engine.kill('SIGTERM');
    await new Promise((r) => (engine.exitCode !== null ? r(null) : engine.on('exit', r)));
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const t0 = Date.now();
    while (!/ready on/.test(out)) {
      if (engine.exitCode !== null || Date.now() - t0 > 120_000) throw new Error(`engine did not start:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;
    const packs = (await (await fetch(`${base}/packs`)).json()) as { id: string; conditionSpecs: { id: string; kind: string; labels?: string[] }[] }[];
    const cls = packs[0]!.conditionSpecs.find((c) => c.kind === 'classes')!;
    console.error(`[loadtest] engine up (${packNote}); ${ROOMS} rooms × ${CLIENTS} clients for ${SECONDS}s at ${FPS} fps`);

    const latencies: number[] = [];
    const framesPerClient: number[] = [];
    const sockets: Sock[] = [];
    const rooms: { id: string; token: string; pending: { version: number; sentAt: number }[] }[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const res = await fetch(`${base}/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'loadtest', conditions: [{ target: { kind: 'class', condition: cls.id, labels: [cls.labels![r % cls.labels!.length]] } }], params: { fps: FPS } }),
      });
      const body = (await res.json()) as { id: string; tokens: { editor: string } };
      rooms.push({ id: body.id, token: body.tokens.editor, pending: [] });
    }
    let measuring = false;
    await Promise.all(
      rooms.flatMap((room) =>
        Array.from({ length: CLIENTS }, async (_, c) => {
          const s: Sock = io(base, { transports: ['websocket'], forceNew: true, reconnection: false });
          sockets.push(s);
          let frames = 0;
          const idx = framesPerClient.push(0) - 1;
          s.on('room:frame', (f) => {
            if (!measuring) return;
            frames++;
            framesPerClient[idx] = frames;
            if (c === 0) {
              // the steering client measures: first frame sampled under (or after) the version it created
              while (room.pending.length && f.version >= room.pending[0]!.version) latencies.push(Date.now() - room.pending.shift()!.sentAt);
            }
          });
          const res = await s.timeout(30_000).emitWithAck('room:join', { roomId: room.id, token: room.token, name: `c${c}` });
          if (!res.ok) throw new Error(res.error);
        }),
      ),
    );
    const cpu0 = cpuTicks(engine.pid!);
    const wall0 = Date.now();
    measuring = true;
    let round = 0;
    const steer = setInterval(() => {
      round++;
      for (const [r, room] of rooms.entries()) {
        const s = sockets[r * CLIENTS]!;
        const eps = 0.001 + (round % 100) * 1e-5; // a new value every time, so every steer is a change
        const sentAt = Date.now();
        s.timeout(10_000)
          .emitWithAck('room:intent', { type: 'params.set', params: { eps3: eps } })
          .then((ack) => {
            if (ack.ok) room.pending.push({ version: ack.version, sentAt });
          })
          .catch(() => {});
      }
    }, STEER_MS);
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(engine.pid!))), 500);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    clearInterval(steer);
    clearInterval(sampler);
    const wall = (Date.now() - wall0) / 1000;
    const cpuS = (cpuTicks(engine.pid!) - cpu0) / 100;
    for (const s of sockets) s.close();
    const result = {
      rooms: ROOMS,
      clients: CLIENTS,
      seconds: SECONDS,
      fps_target: FPS,
      pack: packNote,
      backend: /tfjs backend: (\w+)/.exec(out)?.[1] ?? 'unknown',
      steers_measured: latencies.length,
      p50_ms: pct(latencies, 50),
      p95_ms: pct(latencies, 95),
      frames_per_client_per_s: Number((framesPerClient.reduce((a, b) => a + b, 0) / framesPerClient.length / wall).toFixed(2)),
      engine_cpu_percent: Number(((cpuS / wall) * 100).toFixed(1)),
      engine_peak_rss_mb: Number(peakRss.toFixed(1)),
    };
    await cleanup();
    console.log(JSON.stringify(result));
  } catch (err) {
    await cleanup();
    console.error(`[loadtest] error: ${(err as Error).message}`);
    process.exit(1);
  }
  process.exit(0);
}

void main();
