// An in-process engine on a free port, with its own embedded Postgres and a small random pack.
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, JoinResult, ServerToClientEvents, Frame, RoomPatch, RoomState } from '@ppgn/shared';
import { applyPatch } from '@ppgn/shared';
import type { HttpLimits } from '../../apps/engine/src/config';
import { startEngine, type Engine } from '../../apps/engine/src/engine';
import { makeModelsDir } from './pack';
import { tempDir } from './procs';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestEngineOptions {
  databaseUrl?: string;
  intentRate?: number;
  presenceRate?: number;
  httpLimits?: Partial<HttpLimits>;
  idleMs?: number;
  /** the activity log keeps each room's last this many versions */
  activityKeep?: number;
  /** sampler worker threads (0 = main thread); default: the engine's default */
  samplerWorkers?: number;
  reconnectGraceMs?: number;
  dataDir?: string;
  /** 'emoji64': random weights in the default pack's architecture (64×64 conv: sampling costs real time) */
  pack?: 'tiny' | 'emoji64';
  backend?: 'onnx' | 'cpu' | 'wasm';
}

export async function startTestEngine(name: string, opts: TestEngineOptions = {}) {
  const tmp = tempDir(name);
  const modelsDir = await makeModelsDir(path.join(tmp.dir, 'models'), 'testpack', opts.pack);
  const engine: Engine = await startEngine(
    {
      port: 0,
      host: '127.0.0.1',
      modelsDir,
      packs: [],
      backend: opts.backend ?? 'onnx',
      databaseUrl: opts.databaseUrl,
      dataDir: opts.dataDir ?? path.join(tmp.dir, 'pg'),
      intentRate: opts.intentRate,
      presenceRate: opts.presenceRate,
      httpLimits: opts.httpLimits,
      idleMs: opts.idleMs,
      activityKeep: opts.activityKeep,
      reconnectGraceMs: opts.reconnectGraceMs,
      // one worker unless a test asks: the suite runs engines side by side on 2 cores
      samplerWorkers: opts.samplerWorkers ?? 1,
    },
    () => {},
  );
  const base = `http://127.0.0.1:${engine.port}`;
  return {
    engine,
    base,
    tmp,
    async close() {
      await engine.close();
      tmp.remove();
    },
  };
}

export async function api<T = unknown>(
  base: string,
  method: string,
  url: string,
  body?: unknown,
  credential?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + url, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: (type.includes('json') ? await res.json() : await res.arrayBuffer()) as T };
}

/** A new person (as a browser that never joined a room gets one): their credential, for HTTP writes. */
export async function person(base: string, name: string): Promise<string> {
  const r = await api<{ credential: string }>(base, 'POST', '/people', { name });
  if (r.status !== 201) throw new Error(`POST /people: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.credential;
}

/**
 * A socket.io client that joins a room and keeps a local copy of the state from patches. It sends
 * its credential (given, or minted by its first join) in the handshake, like the browser.
 */
export class TestClient {
  socket: ClientSocket;
  state: RoomState | null = null;
  frames: Frame[] = [];
  patches: RoomPatch[] = [];
  /** room:activity items received (who did what) */
  activity: { version: number; summary: string }[] = [];
  errors: string[] = [];
  /** every room:error with the event or intent it answers */
  errorEvents: { error: string; intent?: string }[] = [];
  userId = '';
  role = '';
  credential: string | undefined;
  /** room:join requests this client sent */
  joinsSent = 0;

  /** the last join's arguments (to join again when the room moves or the connection comes back fresh) */
  private lastJoin: { roomId: string; token: string; name: string } | null = null;
  /** room:moved notices received */
  moved = 0;

  constructor(base: string, opts: { credential?: string; reconnection?: boolean; rejoin?: boolean } = {}) {
    this.credential = opts.credential;
    this.socket = io(base, {
      transports: ['websocket'],
      reconnection: opts.reconnection ?? false,
      reconnectionDelay: 200,
      reconnectionDelayMax: 500,
      forceNew: true,
      auth: (cb) => cb(this.credential ? { credential: this.credential } : {}),
    });
    this.socket.on('room:patch', (p) => {
      this.patches.push(p);
      if (this.state && p.version === this.state.version + 1) this.state = applyPatch(this.state, p);
    });
    this.socket.on('room:frame', (f) => this.frames.push(f));
    this.socket.on('room:activity', (a) => this.activity.push(a));
    this.socket.on('room:error', (e) => {
      this.errors.push(e.error);
      this.errorEvents.push(e);
    });
    this.socket.on('room:role', (e) => (this.role = e.role));
    this.socket.on('room:moved', () => {
      this.moved += 1;
      if (opts.rejoin) void this.rejoin();
    });
    // like the browser: a connection that comes back without its session joins again
    this.socket.on('connect', () => {
      if (opts.rejoin && this.lastJoin && !this.socket.recovered) void this.rejoin();
    });
  }

  private async rejoin() {
    const j = this.lastJoin;
    if (!j) return;
    await this.join(j.roomId, j.token, j.name, this.state ? { sinceVersion: this.state.version } : {}).catch(() => {});
  }

  /** `extra` may carry fields the protocol does not have (an impersonator's `userId`): the engine ignores them. */
  async join(
    roomId: string,
    token: string,
    name: string,
    extra: { sinceVersion?: number } & Record<string, unknown> = {},
  ): Promise<JoinResult> {
    this.joinsSent += 1;
    this.lastJoin = { roomId, token, name };
    const res = await this.socket.timeout(10_000).emitWithAck('room:join', { roomId, token, name, ...extra });
    if (res.ok) {
      if (res.credential) this.credential = res.credential;
      this.userId = res.userId;
      this.role = res.role;
      if (res.state) this.state = res.state;
      else if (this.state) for (const p of res.patches) this.state = applyPatch(this.state, p);
    }
    return res;
  }

  intent(i: unknown) {
    return this.socket.timeout(10_000).emitWithAck('room:intent', i as never);
  }

  async waitFor(pred: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close() {
    this.socket.close();
  }
}
