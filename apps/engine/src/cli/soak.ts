// `npm run soak -- [--rooms 10] [--minutes 10] [--sample-every 10]`
// A soak benchmark: starts a real engine process on loopback exactly as `npm run loadtest` does (its own
// embedded Postgres in a temp dir, the trained pack from models/ or else a random-weights emoji64 pack),
// opens R running rooms at 10 fps with one steering client (owner link) and one viewer each, and keeps
// them busy for the whole run: every ~500 ms a varied change (ε1/ε2, mask strokes and clears, class
// conditions added and removed, an image condition every ~10 s, renames), the cursor every 100 ms, a
// gallery save every ~30 s. Every --sample-every seconds it records the engine's RSS and CPU, the size of
// the Postgres database and its "ActivityEntry" rows, and the frames the viewers receive. Prints a table
// to stderr, then one JSON object on stdout. Exit code 0 whatever the verdict (a benchmark, not a test);
// non-zero only when the engine dies or the soak cannot run.
import type { ChildProcess } from 'node:child_process';
import { ENGINE_READY, spawnEngine } from '../launch/engine-process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { encodePng } from '@ppgn/core';
import type { Ack, ClientToServerEvents, IntentInput, JoinResult, ServerToClientEvents } from '@ppgn/shared';
import {
  benchModels,
  cpuTicks,
  freePort,
  postmaster,
  postgresTicks,
  round1,
  rssMb,
  singleEngineEnv,
} from './proc-stats';

type Sock = Socket<ServerToClientEvents, ClientToServerEvents>;

const USAGE = `usage: npm run soak -- [--rooms R] [--minutes M] [--sample-every S]

  --rooms R          rooms, each with one steering client and one viewer (1–50, default 10)
  --minutes M        how long the load runs (0.5–1440, default 10)
  --sample-every S   seconds between samples (1–600 and at most the run, default 10)
  --help             this text

Starts an engine with its own embedded Postgres in a temp dir; prints a table to stderr, then one
JSON object on stdout. Exit code 0 whatever the verdict; 1 when the engine dies or the soak cannot run,
2 for bad flags.`;

class SoakError extends Error {}

function bad(line: string): never {
  console.error(`[soak] ${line}\n\n${USAGE}`);
  process.exit(2);
}

function parseFlags(argv: string[]): { rooms: number; minutes: number; sampleEvery: number } {
  const known = new Set(['rooms', 'minutes', 'sample-every']);
  const got = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) bad(`unexpected argument "${a}"`);
    const name = m[1]!;
    if (!known.has(name)) bad(`unknown flag --${name}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value.startsWith('--')) bad(`--${name} needs a value`);
    if (got.has(name)) bad(`--${name} given twice`);
    got.set(name, value);
  }
  const num = (name: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const raw = got.get(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) bad(`--${name} must be a number (got "${raw}")`);
    if (integer && !Number.isInteger(v)) bad(`--${name} must be a whole number (got ${raw})`);
    if (v < min || v > max) bad(`--${name} must be from ${min} to ${max} (got ${raw})`);
    return v;
  };
  const rooms = num('rooms', 10, 1, 50, true);
  const minutes = num('minutes', 10, 0.5, 1440, false);
  const sampleEvery = num('sample-every', 10, 1, 600, false);
  if (sampleEvery > minutes * 60) bad(`--sample-every (${sampleEvery} s) is longer than the run (${minutes * 60} s)`);
  return { rooms, minutes, sampleEvery };
}

const FLAGS = parseFlags(process.argv.slice(2));
const FPS = 10;
const INTENT_MS = 500;
const CURSOR_MS = 100;
const IMAGE_EVERY_TICKS = 20; // an image condition every ~10 s, removed ~5 s later
const SAVE_EVERY_MS = 30_000;
const WARMUP_S = 60;
const LOG_LINES = 400;

// the embedded Postgres's role (packages/db/src/embedded.ts: not exported; the server listens on loopback only)
const PG_USER = 'ppgn';
const PG_PASSWORD = 'ppgn-local';
const PG_DATABASE = 'ppgn';

/** bytes under a directory (files only, links not followed) */
function dirBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e);
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) total += dirBytes(p);
      else if (st.isFile()) total += st.size;
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}
const round2 = (x: number) => Number(x.toFixed(2));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The engine's output, last LOG_LINES lines, plus the lines that look like errors or warnings. */
class EngineLog {
  lines: string[] = [];
  notable: string[] = [];
  notableCount = 0;
  private partial = '';
  push(chunk: Buffer | string) {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) this.line(line);
  }
  private line(line: string) {
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.shift();
    if (/error|warn|fail|refus|unexpected|stopped|restart|exception|denied|timeout|backlog/i.test(line)) {
      this.notableCount++;
      if (this.notable.length < 40) this.notable.push(line.slice(0, 400));
    }
  }
  text(): string {
    return [...this.lines, this.partial].join('\n');
  }
}

interface Engine {
  base: string;
  child: ChildProcess;
  pgDir: string;
  log: EngineLog;
  /** set when the engine exited while we did not ask it to */
  died: () => string | null;
  stop(): Promise<void>;
}

async function startEngine(tmp: string, modelsDir: string): Promise<Engine> {
  const port = await freePort();
  const pgDir = path.join(tmp, 'pg');
  const log = new EngineLog();
  // its own process group: a Ctrl-C in the terminal reaches this process only, which then stops the engine
  // (the engine saves its rooms, then stops its Postgres) instead of the terminal's SIGINT hitting all at once
  const child = spawnEngine(singleEngineEnv(port, pgDir, modelsDir), { detached: true });
  child.stdout!.on('data', (b) => log.push(b));
  child.stderr!.on('data', (b) => log.push(b));
  let stopping = false;
  let exitNote: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      if (!stopping) exitNote = `engine exited (${signal ?? `code ${code}`})`;
      resolve();
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (stopping) return exited;
    stopping = true;
    if (alive()) {
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 30_000);
      await exited;
      clearTimeout(t);
    }
    // a Postgres whose engine was killed keeps running: stop it (fast shutdown) before its data dir goes
    const pm = postmaster(pgDir);
    if (pm) {
      try {
        process.kill(pm.pid, 'SIGINT');
        for (let i = 0; i < 100 && existsSync(`/proc/${pm.pid}`); i++) await sleep(100);
      } catch {
        /* gone */
      }
    }
  };
  const t0 = Date.now();
  while (!ENGINE_READY.test(log.text())) {
    if (!alive() || Date.now() - t0 > 180_000) {
      const out = log.text();
      await stop();
      throw new SoakError(`engine did not start:\n${out.slice(-4000)}`);
    }
    await sleep(100);
  }
  return { base: `http://127.0.0.1:${port}`, child, pgDir, log, died: () => exitNote, stop };
}

/** A small PNG reference picture, different every time (smooth colour fields plus a little noise): ≈ 6 KB base64. */
function referencePng(seed: number): string {
  const S = 48;
  const data = new Float32Array(S * S * 3);
  let r = seed * 2654435761;
  const rand = () => (r = (r * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const a = rand() * 6.28;
  const b = rand() * 6.28;
  const fx = 1 + rand() * 3;
  const fy = 1 + rand() * 3;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++) {
        const v =
          0.5 +
          0.35 * Math.sin((x / S) * fx * 6.28 + a + c) * Math.cos((y / S) * fy * 6.28 + b - c) +
          (rand() - 0.5) * 0.06;
        data[(y * S + x) * 3 + c] = v;
      }
  return encodePng({ shape: [S, S, 3], data }).toString('base64');
}

interface RoomRun {
  index: number;
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
  steer: Sock;
  viewer: Sock;
  credential: string;
  viewerFrames: number;
  steerFrames: number;
  tick: number;
  imageOn: boolean;
  classOn: boolean;
  strokes: number;
  renames: number;
}

interface Counters {
  intentsOk: number;
  intentsRefused: number;
  intentErrors: number;
  refusals: Map<string, number>;
  savesOk: number;
  savesFailed: number;
  saveFailures: Map<string, number>;
  disconnects: number;
  imageBase64Bytes: number[];
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const top = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8));

interface Sample {
  t: number;
  rssMB: number;
  cpuPct: number;
  pgCpuPct: number;
  dbMB: number | null;
  fpsPerViewer: number;
  fpsMinViewer: number;
  activityRows: number | null;
  galleryRows: number | null;
}

async function queryDb(
  pgDir: string,
): Promise<{ dbBytes: number; activityRows: number; galleryRows: number } | { error: string }> {
  const pm = postmaster(pgDir);
  if (!pm || !pm.port) return { error: 'no postmaster.pid in the data dir' };
  const client = new pg.Client({
    host: '127.0.0.1',
    port: pm.port,
    user: PG_USER,
    password: PG_PASSWORD,
    database: PG_DATABASE,
    connectionTimeoutMillis: 5000,
    query_timeout: 10_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const size = await client.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b');
    const act = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM "ActivityEntry"');
    const gal = await client
      .query<{ n: string }>('SELECT count(*)::text AS n FROM "GalleryItem"')
      .catch(() => ({ rows: [{ n: 'NaN' }] }));
    return {
      dbBytes: Number(size.rows[0]!.b),
      activityRows: Number(act.rows[0]!.n),
      galleryRows: Number(gal.rows[0]!.n),
    };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    await client.end().catch(() => {});
  }
}

async function soak(engine: Engine, packNote: string, counters: Counters, closers: (() => void)[]) {
  const { base } = engine;
  const { rooms: R, minutes, sampleEvery } = FLAGS;
  const packs = (await (await fetch(`${base}/packs`)).json()) as {
    id: string;
    conditionSpecs: { id: string; kind: string; labels?: string[] }[];
  }[];
  const cls = packs[0]?.conditionSpecs.find((c) => c.kind === 'classes');
  if (!cls?.labels?.length)
    throw new SoakError(`the pack ${packs[0]?.id ?? '(none)'} has no class condition to steer with`);
  const labels = cls.labels;
  console.error(
    `[soak] engine up (${packNote}); ${R} rooms × (1 steering client + 1 viewer) for ${minutes} min at ${FPS} fps, a sample every ${sampleEvery} s`,
  );

  const rooms: RoomRun[] = [];
  for (let r = 0; r < R; r++) {
    const res = await fetch(`${base}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        author: 'soak',
        name: `soak ${r}`,
        conditions: [{ target: { kind: 'class', condition: cls.id, labels: [labels[r % labels.length]] } }],
        params: { fps: FPS },
        running: true,
      }),
    });
    if (!res.ok) throw new SoakError(`POST /rooms: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { id: string; tokens: RoomRun['tokens'] };
    const open = () => {
      const s: Sock = io(base, { transports: ['websocket'], forceNew: true, reconnection: false });
      closers.push(() => s.close());
      return s;
    };
    const room: RoomRun = {
      index: r,
      id: body.id,
      tokens: body.tokens,
      steer: open(),
      viewer: open(),
      credential: '',
      viewerFrames: 0,
      steerFrames: 0,
      tick: Math.floor(Math.random() * IMAGE_EVERY_TICKS),
      imageOn: false,
      classOn: false,
      strokes: 0,
      renames: 0,
    };
    room.viewer.on('room:frame', () => room.viewerFrames++);
    room.steer.on('room:frame', () => room.steerFrames++);
    for (const s of [room.steer, room.viewer])
      s.on('disconnect', (reason) => {
        if (reason !== 'io client disconnect') counters.disconnects++;
      });
    const join = async (s: Sock, token: string, name: string): Promise<Extract<JoinResult, { ok: true }>> => {
      const ack = await s.timeout(30_000).emitWithAck('room:join', { roomId: room.id, token, name });
      if (!ack.ok) throw new SoakError(`joining room ${room.id} as ${name}: ${ack.code}: ${ack.error}`);
      return ack;
    };
    const owner = await join(room.steer, body.tokens.owner, `steer${r}`);
    if (!owner.credential) throw new SoakError('the join ack carried no credential for the steering client');
    room.credential = owner.credential;
    await join(room.viewer, body.tokens.viewer, `view${r}`);
    rooms.push(room);
  }

  const send = (room: RoomRun, intent: IntentInput) =>
    room.steer
      .timeout(10_000)
      .emitWithAck('room:intent', intent)
      .then(
        (ack: Ack) => {
          if (ack.ok) counters.intentsOk++;
          else {
            counters.intentsRefused++;
            bump(counters.refusals, `${intent.type}: ${ack.error.slice(0, 120)}`);
          }
        },
        (err: Error) => {
          counters.intentErrors++;
          bump(counters.refusals, `${intent.type}: (no ack) ${err.message.slice(0, 80)}`);
        },
      );

  let pngSeed = 1;
  /** one change per tick, varied; an image condition on for half of every IMAGE_EVERY_TICKS ticks */
  const steerOnce = (room: RoomRun) => {
    const k = room.tick++;
    const phase = k % IMAGE_EVERY_TICKS;
    if (phase === 0 && !room.imageOn) {
      const png = referencePng(pngSeed++);
      counters.imageBase64Bytes.push(png.length);
      room.imageOn = true;
      return send(room, {
        type: 'condition.add',
        id: 'soak-image',
        target: { kind: 'image', png, name: 'soak' },
        weight: 1,
      });
    }
    if (phase === IMAGE_EVERY_TICKS / 2 && room.imageOn) {
      room.imageOn = false;
      return send(room, { type: 'condition.remove', id: 'soak-image' });
    }
    switch (k % 8) {
      case 0:
        return send(room, {
          type: 'params.set',
          params: { eps1: Number((1e-4 + Math.random() * 0.0099).toPrecision(3)) },
        });
      case 1:
      case 5: {
        room.strokes++;
        if (room.strokes % 12 === 0) return send(room, { type: 'mask.clear' });
        const n = 2 + Math.floor(Math.random() * 6);
        const x = Math.random() * 0.8 + 0.1;
        const y = Math.random() * 0.8 + 0.1;
        const points = Array.from({ length: n }, (_, i): [number, number] => [
          Math.min(1, Math.max(0, x + (Math.random() - 0.5) * 0.1 * i)),
          Math.min(1, Math.max(0, y + (Math.random() - 0.5) * 0.1 * i)),
        ]);
        return send(room, {
          type: 'mask.stroke',
          stroke: {
            id: `s${room.index}-${k}`,
            erase: room.strokes % 5 === 0,
            radius: 0.02 + Math.random() * 0.06,
            points,
          },
        });
      }
      case 2:
        return send(room, { type: 'params.set', params: { eps2: round2(0.5 + Math.random() * 1.5) } });
      case 3:
      case 7:
        if (room.classOn) {
          room.classOn = false;
          return send(room, { type: 'condition.remove', id: 'soak-class' });
        }
        room.classOn = true;
        return send(room, {
          type: 'condition.add',
          id: 'soak-class',
          target: { kind: 'class', condition: cls.id, labels: [labels[(room.index + k) % labels.length]!] },
          weight: round2(0.5 + Math.random()),
        });
      case 4:
        return send(room, {
          type: 'params.set',
          params: {
            eps1: Number((5e-4 + Math.random() * 1e-3).toPrecision(3)),
            eps2: round2(0.8 + Math.random() * 0.4),
          },
        });
      default:
        if (k % 24 === 6) return send(room, { type: 'room.rename', name: `soak ${room.index} · ${++room.renames}` });
        return send(room, { type: 'params.set', params: { eps2: Number((0.9 + Math.random() * 0.2).toPrecision(4)) } });
    }
  };

  const save = async (room: RoomRun) => {
    try {
      const res = await fetch(`${base}/gallery`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${room.credential}` },
        body: JSON.stringify({ roomId: room.id, token: room.tokens.owner }),
        signal: AbortSignal.timeout(30_000),
      });
      if (res.ok) counters.savesOk++;
      else {
        counters.savesFailed++;
        bump(counters.saveFailures, `${res.status} ${(await res.text()).slice(0, 120)}`);
      }
    } catch (err) {
      counters.savesFailed++;
      bump(counters.saveFailures, (err as Error).message.slice(0, 120));
    }
  };

  // sampling
  const samples: Sample[] = [];
  let dbSource: 'pg_database_size' | 'data dir on disk' = 'pg_database_size';
  let dbNote: string | undefined;
  const pid = engine.child.pid!;
  let last = { at: Date.now(), cpu: cpuTicks(pid), pg: postgresTicks(engine.pgDir), frames: rooms.map(() => 0) };
  const t0 = Date.now();
  const takeSample = async (): Promise<Sample> => {
    if (rssMb(pid) === 0) await sleep(1000); // gone from /proc: let its exit event arrive
    const died = engine.died();
    if (died) throw new SoakError(died);
    const now = Date.now();
    const dt = Math.max(0.001, (now - last.at) / 1000);
    const cpu = cpuTicks(pid);
    const pgt = postgresTicks(engine.pgDir);
    const frames = rooms.map((r) => r.viewerFrames);
    const fps = frames.map((f, i) => (f - last.frames[i]!) / dt);
    const db = await queryDb(engine.pgDir);
    let dbMB: number | null;
    let activityRows: number | null = null;
    let galleryRows: number | null = null;
    if ('error' in db) {
      if (dbSource === 'pg_database_size') {
        dbNote = `could not query Postgres (${db.error}): data dir size on disk instead (includes WAL)`;
        console.error(`[soak] ${dbNote}`);
      }
      dbSource = 'data dir on disk';
      dbMB = round1(dirBytes(engine.pgDir) / 2 ** 20);
    } else {
      dbMB = round2(db.dbBytes / 2 ** 20);
      activityRows = db.activityRows;
      galleryRows = Number.isFinite(db.galleryRows) ? db.galleryRows : null;
    }
    const s: Sample = {
      t: Math.round((now - t0) / 1000),
      rssMB: round1(rssMb(pid)),
      cpuPct: round1(((cpu - last.cpu) / 100 / dt) * 100),
      pgCpuPct: round1(((pgt - last.pg) / 100 / dt) * 100),
      dbMB,
      fpsPerViewer: round2(mean(fps)),
      fpsMinViewer: round2(fps.length ? Math.min(...fps) : 0),
      activityRows,
      galleryRows,
    };
    last = { at: now, cpu, pg: pgt, frames };
    return s;
  };
  const printRow = (s: Sample) =>
    console.error(
      `[soak] t=${String(s.t).padStart(4)} s  RSS ${s.rssMB.toFixed(1).padStart(7)} MB  CPU ${s.cpuPct.toFixed(0).padStart(4)} %  DB ${String(s.dbMB).padStart(7)} MB  ${s.fpsPerViewer.toFixed(2).padStart(5)} fps/viewer  activity ${s.activityRows ?? '—'}  intents ${counters.intentsOk}/${counters.intentsRefused}  saves ${counters.savesOk}/${counters.savesFailed}`,
    );

  const first = await takeSample(); // t = 0: the rooms exist, no load yet (its fps is the joins' first frames)
  first.fpsPerViewer = 0;
  first.fpsMinViewer = 0;
  samples.push(first);
  printRow(first);

  const timers: ReturnType<typeof setInterval>[] = [];
  let running = true;
  const stopTimers = () => {
    running = false;
    timers.forEach((t) => clearInterval(t));
  };
  closers.push(stopTimers);
  timers.push(
    setInterval(() => {
      for (const room of rooms) if (room.steer.connected) void steerOnce(room);
    }, INTENT_MS),
  );
  let cursorStep = 0;
  timers.push(
    setInterval(() => {
      cursorStep++;
      for (const room of rooms) {
        if (!room.steer.connected) continue;
        const a = cursorStep / 20 + room.index;
        room.steer.emit('room:presence', {
          cursor: [round2(0.5 + 0.4 * Math.sin(a)), round2(0.5 + 0.4 * Math.sin(1.7 * a + 0.3))],
        });
      }
    }, CURSOR_MS),
  );
  // saves spread over the 30 s so that the rooms do not all save at once
  rooms.forEach((room, i) => {
    const start = setTimeout(
      () => {
        if (!running) return;
        void save(room);
        timers.push(setInterval(() => void save(room), SAVE_EVERY_MS));
      },
      ((i + 1) * SAVE_EVERY_MS) / (rooms.length + 1),
    );
    closers.push(() => clearTimeout(start));
  });

  const endAt = t0 + minutes * 60_000;
  let nextSample = t0 + sampleEvery * 1000;
  while (Date.now() < endAt) {
    const died = engine.died();
    if (died) throw new SoakError(died);
    const wait = Math.min(nextSample, endAt) - Date.now();
    if (wait > 0) await sleep(Math.min(wait, 1000));
    if (Date.now() >= nextSample && Date.now() < endAt) {
      const s = await takeSample();
      samples.push(s);
      printRow(s);
      nextSample += sampleEvery * 1000;
    }
  }
  stopTimers();
  const died = engine.died();
  if (died) throw new SoakError(died);
  // the last sample at the end of the run (unless one was just taken)
  if (Date.now() - last.at > 1000) {
    const s = await takeSample();
    samples.push(s);
    printRow(s);
  }
  await sleep(1000); // acks of the last intents
  for (const room of rooms) {
    room.steer.close();
    room.viewer.close();
  }
  return { samples, dbSource, dbNote };
}

function summarise(
  samples: Sample[],
  dbSource: string,
  dbNote: string | undefined,
  counters: Counters,
  packNote: string,
  engine: Engine,
) {
  const warm = samples.filter((s) => s.t >= WARMUP_S);
  const post = warm.length ? warm : samples.slice(1).length ? samples.slice(1) : samples;
  const rssFirst = post[0]!.rssMB;
  const rssLast = samples[samples.length - 1]!.rssMB;
  const rssList = post.map((s) => s.rssMB);
  const changePct = rssFirst > 0 ? round1(((rssLast - rssFirst) / rssFirst) * 100) : 0;
  const startMB = samples[0]!.dbMB ?? 0;
  const endMB = samples[samples.length - 1]!.dbMB ?? 0;
  const growthMB = round2(endMB - startMB);
  const loaded = samples.slice(1);
  const imgs = counters.imageBase64Bytes;
  return {
    settings: {
      rooms: FLAGS.rooms,
      minutes: FLAGS.minutes,
      sampleEverySeconds: FLAGS.sampleEvery,
      fps: FPS,
      pack: packNote,
      backend: /\[engine\] backend: ([\w-]+)/.exec(engine.log.text())?.[1] ?? 'unknown',
      intentEveryMs: INTENT_MS,
      cursorEveryMs: CURSOR_MS,
      saveEverySeconds: SAVE_EVERY_MS / 1000,
      warmupSeconds: WARMUP_S,
      imageConditionBase64Bytes: imgs.length ? { min: Math.min(...imgs), max: Math.max(...imgs) } : null,
      cores: os.cpus().length,
      loadAverage: os.loadavg().map(round2),
    },
    samples,
    rss: {
      first: rssFirst,
      firstAt: post[0]!.t,
      ...(warm.length ? {} : { note: `no sample after the ${WARMUP_S} s warm-up: first is the first loaded sample` }),
      last: rssLast,
      min: Math.min(...rssList),
      max: Math.max(...rssList),
      changePct,
    },
    postgres: {
      source: dbSource,
      ...(dbNote ? { note: dbNote } : {}),
      startMB,
      endMB,
      growthMB,
      activityRows: samples[samples.length - 1]!.activityRows,
      galleryRows: samples[samples.length - 1]!.galleryRows,
    },
    fpsPerViewer: {
      mean: round2(mean(loaded.map((s) => s.fpsPerViewer))),
      min: loaded.length ? Math.min(...loaded.map((s) => s.fpsMinViewer)) : 0,
    },
    engineCpuPct: round1(mean(loaded.map((s) => s.cpuPct))),
    postgresCpuPct: round1(mean(loaded.map((s) => s.pgCpuPct))),
    intents: {
      ok: counters.intentsOk,
      refused: counters.intentsRefused,
      errors: counters.intentErrors,
      reasons: top(counters.refusals),
    },
    saves: { ok: counters.savesOk, failed: counters.savesFailed, reasons: top(counters.saveFailures) },
    disconnects: counters.disconnects,
    engineLog: { notableLines: engine.log.notableCount, sample: engine.log.notable.slice(0, 12) },
    verdict: { rssFlat: Math.abs(changePct) <= 15, postgresUnder50MB: growthMB < 50 },
  };
}

function table(samples: Sample[]): string {
  const out = ['  time   RSS MB    DB MB  fps/viewer  CPU %  activity rows'];
  for (const s of samples)
    out.push(
      `${`${Math.floor(s.t / 60)}:${String(s.t % 60).padStart(2, '0')}`.padStart(6)}  ${s.rssMB.toFixed(1).padStart(7)}  ${(s.dbMB ?? NaN).toFixed(1).padStart(7)}  ${s.fpsPerViewer.toFixed(2).padStart(10)}  ${s.cpuPct.toFixed(0).padStart(5)}  ${String(s.activityRows ?? '—').padStart(13)}`,
    );
  return out.join('\n');
}

async function main() {
  // (no removeAllListeners here, unlike loadtest: it would also remove tsx's hidden relay handler, and tsx
  // then SIGKILLs this process 30 ms after a Ctrl-C, before the engine is stopped and the temp dir removed)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-soak-'));
  let engine: Engine | null = null;
  const closers: (() => void)[] = [];
  let cleaning: Promise<void> | null = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of closers.splice(0)) {
        try {
          c();
        } catch {
          /* closed */
        }
      }
      await engine?.stop().catch(() => {});
      rmSync(tmp, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      console.error(`[soak] ${sig}: stopping the engine and removing ${tmp}`);
      void cleanup().then(() => process.exit(130));
    });
  // last resort (an uncaught exception): no engine left behind
  process.on('exit', () => {
    if (engine && engine.child.exitCode === null && engine.child.signalCode === null) {
      try {
        process.kill(-engine.child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  const counters: Counters = {
    intentsOk: 0,
    intentsRefused: 0,
    intentErrors: 0,
    refusals: new Map(),
    savesOk: 0,
    savesFailed: 0,
    saveFailures: new Map(),
    disconnects: 0,
    imageBase64Bytes: [],
  };
  try {
    const { modelsDir, packNote } = await benchModels(tmp);
    engine = await startEngine(tmp, modelsDir);
    const { samples, dbSource, dbNote } = await soak(engine, packNote, counters, closers);
    const result = summarise(samples, dbSource, dbNote, counters, packNote, engine);
    await cleanup();
    console.error(table(samples));
    console.error(
      `[soak] RSS ${result.rss.first} → ${result.rss.last} MB (${result.rss.changePct} %), Postgres ${result.postgres.startMB} → ${result.postgres.endMB} MB (+${result.postgres.growthMB}), ${result.fpsPerViewer.mean} fps/viewer; verdict ${JSON.stringify(result.verdict)}`,
    );
    console.log(JSON.stringify(result));
  } catch (err) {
    const msg = (err as Error).message;
    console.error(`[soak] error: ${msg}`);
    if (engine && !msg.startsWith('engine did not start'))
      console.error(`[soak] the engine's last output:\n${engine.log.text().slice(-8000)}`);
    await cleanup();
    process.exit(1);
  }
  process.exit(0);
}

void main();
