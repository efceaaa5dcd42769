import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ENGINE_PORT, parsePort } from '@ppgn/shared';
import { StartupError } from './errors';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ENGINE_VERSION = '0.1.0';

export interface EngineConfig {
  port: number;
  host: string;
  modelsDir: string;
  /** Pack ids to load; empty = every pack found in modelsDir. */
  packs: string[];
  backend?: string;
  databaseUrl?: string;
  dataDir?: string;
  /**
   * where changes the database did not take by the end of a stop are kept for the next start
   * (PPGN_SPILL_DIR; default: `unsaved/` beside the embedded Postgres data folder)
   */
  spillDir?: string;
  /** steering changes and admin actions per second per person (default LIMITS.intentsPerSecond) */
  intentRate?: number;
  /** cursor/presence updates per second per person (default 40; over it they are dropped: presence is best-effort) */
  presenceRate?: number;
  /** HTTP requests that create or cost work, per client address and window (default HTTP_LIMITS) */
  httpLimits?: Partial<HttpLimits>;
  /** a room with nobody connected stops sampling after this many ms (default ROOM_IDLE_MS) */
  idleMs?: number;
  /** the activity log keeps each room's last this many versions (default ACTIVITY_KEEP, 2000) */
  activityKeep?: number;
  /** someone whose connection dropped keeps their place (membership, presence) this long (default RECONNECT_GRACE_MS) */
  reconnectGraceMs?: number;
  /** sampler worker threads; 0 = sample on the main thread (default: one per core, at most 8) */
  samplerWorkers?: number;
  /** Express's `trust proxy` (behind nginx: the client address for HTTP rate limits comes from X-Forwarded-For) */
  trustProxy?: boolean | number | string;
  /** rooms stepped per tick and sampler worker (default: 2 on CPU backends, 32 on GPU ones) */
  maxBatch?: number;
  /** cluster mode: engines sharing DATABASE_URL and this Redis share rooms (unset: one engine) */
  redisUrl?: string;
  /** cluster: where the other engines reach this one's HTTP (default http://127.0.0.1:<port>) */
  engineUrl?: string;
  /** cluster: this engine's id (default: random per start) */
  engineId?: string;
  /** cluster: room lease time in ms (a dead engine's rooms are adopted after it) */
  leaseMs?: number;
  /** cluster: PPGN_CLUSTER_SECRET, shared by the engines (required with REDIS_URL) */
  clusterSecret?: string;
  /** cluster: Redis memory the Socket.IO stream may use, in bytes (PPGN_STREAM_MAX_BYTES; default 20 MB) */
  streamMaxBytes?: number;
}

/** Requests per client address per `windowMs`, by what they cost. */
export interface HttpLimits {
  windowMs: number;
  /** POST /rooms, POST /rooms/:id/fork */
  rooms: number;
  /** POST /gallery */
  saves: number;
  /** POST /gallery/:id/star */
  stars: number;
  /** POST /gallery/:id/remix, POST /gallery/mix */
  remixes: number;
  /** GET /rooms/:id/export.gif */
  exports: number;
  /** POST /rooms/:id/image */
  uploads: number;
  /** new people (credentials minted by a join without one, over Socket.IO) */
  identities: number;
  /** pictures rendered on request: GET /rooms/:id/history/:step.png, and unit previews not made yet */
  renders: number;
}

export const HTTP_LIMITS: HttpLimits = {
  windowMs: 60_000,
  rooms: 30,
  saves: 60,
  stars: 120,
  remixes: 30,
  exports: 10,
  uploads: 20,
  identities: 120,
  renders: 240,
};
export const ROOM_IDLE_MS = 60_000;
export const RECONNECT_GRACE_MS = 30_000;

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new StartupError(
      `${name} must be a positive number (got "${value}")`,
      `unset ${name} or set it to a number above 0`,
    );
  return n;
}

/** A whole-number setting from `min` to `max`; unset (or blank) = undefined; anything else is a startup error. */
function wholeNumber(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
  hint: string,
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new StartupError(`${name} must be a whole number from ${min} to ${max} (got "${value}")`, hint);
  return n;
}

/** PPGN_SAMPLER_WORKERS: a whole number ≥ 0 (0 = sample on the main thread); unset = the default */
const workerCount = (value: string | undefined) =>
  wholeNumber(
    'PPGN_SAMPLER_WORKERS',
    value,
    0,
    256,
    'unset it for one worker per core (at most 8), or 0 to sample on the main thread',
  );

/** PPGN_ORT_THREADS (read by ONNX Runtime in every sampler worker): checked here, so a typo is a startup error */
const checkOrtThreads = (value: string | undefined) =>
  void wholeNumber(
    'PPGN_ORT_THREADS',
    value,
    1,
    64,
    'unset it for one ONNX Runtime thread per sampler worker (the engine runs one worker per core)',
  );

/** PPGN_RATE_WINDOW_S, PPGN_RATE_ROOMS, PPGN_RATE_SAVES, … (only the ones that are set) */
function readHttpLimits(env: NodeJS.ProcessEnv): Partial<HttpLimits> {
  const out: Partial<HttpLimits> = {};
  const windowS = positive(env.PPGN_RATE_WINDOW_S, 'PPGN_RATE_WINDOW_S');
  if (windowS !== undefined) out.windowMs = windowS * 1000;
  for (const k of ['rooms', 'saves', 'stars', 'remixes', 'exports', 'uploads', 'identities', 'renders'] as const) {
    const name = `PPGN_RATE_${k.toUpperCase()}`;
    const v = positive(env[name], name);
    if (v !== undefined) out[k] = Math.floor(v);
  }
  return out;
}

function urlOf(value: string, name: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return value.replace(/\/+$/, '');
  } catch {
    throw new StartupError(`${name} must be an http(s) URL (got "${value}")`, `e.g. ${name}=http://10.0.0.5:4001`);
  }
}

function redisUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  try {
    const u = new URL(value);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error();
  } catch {
    throw new StartupError(
      `REDIS_URL must be a redis:// URL (got "${value}")`,
      'e.g. REDIS_URL=redis://127.0.0.1:6379, or unset it to run one engine on its own',
    );
  }
  return value;
}

/**
 * PPGN_CLUSTER_SECRET: required in cluster mode (REDIS_URL), at least 16 characters. Peers send it with the
 * requests they forward; it was once derived from the database and Redis URLs, which anyone who could read
 * an engine's environment or guess them could then use to spoof client addresses.
 */
function clusterSecret(value: string | undefined, cluster: boolean): string | undefined {
  const v = value?.trim() ?? '';
  if (!cluster) return v || undefined;
  if (v.length < 16)
    throw new StartupError(
      v
        ? 'PPGN_CLUSTER_SECRET is too short (at least 16 characters)'
        : 'REDIS_URL is set but PPGN_CLUSTER_SECRET is not: the engines of a cluster share a secret',
      'set the same random PPGN_CLUSTER_SECRET for every engine (e.g. `openssl rand -hex 24`); npm run cluster makes one for you',
    );
  return v;
}

/** PPGN_TRUST_PROXY: true/false, a hop count, or addresses/subnets/`loopback` (as Express takes them) */
function trustProxy(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^[\w.:/,\s-]+$/.test(v))
    throw new StartupError(
      `PPGN_TRUST_PROXY must be true, false, a hop count or addresses (got "${value}")`,
      'e.g. PPGN_TRUST_PROXY=loopback when nginx runs on the same machine',
    );
  return v;
}

function engineId(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(value))
    throw new StartupError(
      `PPGN_ENGINE_ID must be 1–40 letters, digits, _ or - (got "${value}")`,
      'unset it for a random id',
    );
  return value;
}

/** Where the packs are: PPGN_MODELS_DIR, else the repository's models/ (the benchmarks read it here too). */
export function modelsDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.PPGN_MODELS_DIR || path.join(REPO_ROOT, 'models'));
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  checkOrtThreads(env.PPGN_ORT_THREADS);
  return {
    port: parsePort(env.ENGINE_PORT, DEFAULT_ENGINE_PORT, 'ENGINE_PORT'),
    host: env.ENGINE_HOST || '0.0.0.0',
    modelsDir: modelsDirOf(env),
    packs: (env.PPGN_PACKS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    backend: env.PPGN_BACKEND || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.PPGN_DATA_DIR || undefined,
    spillDir: env.PPGN_SPILL_DIR || undefined,
    httpLimits: readHttpLimits(env),
    idleMs: ((s) => (s === undefined ? undefined : s * 1000))(positive(env.PPGN_ROOM_IDLE_S, 'PPGN_ROOM_IDLE_S')),
    activityKeep: wholeNumber(
      'PPGN_ACTIVITY_KEEP',
      env.PPGN_ACTIVITY_KEEP,
      10,
      10_000_000,
      'unset it to keep each room’s last 2000 changes in the activity log',
    ),
    reconnectGraceMs: ((s) => (s === undefined ? undefined : s * 1000))(
      positive(env.PPGN_RECONNECT_GRACE_S, 'PPGN_RECONNECT_GRACE_S'),
    ),
    samplerWorkers: workerCount(env.PPGN_SAMPLER_WORKERS),
    trustProxy: trustProxy(env.PPGN_TRUST_PROXY),
    maxBatch: ((n) => (n === undefined ? undefined : Math.max(1, Math.floor(n))))(
      positive(env.PPGN_MAX_BATCH, 'PPGN_MAX_BATCH'),
    ),
    redisUrl: redisUrl(env.REDIS_URL),
    clusterSecret: clusterSecret(env.PPGN_CLUSTER_SECRET, !!env.REDIS_URL?.trim()),
    engineUrl: env.PPGN_ENGINE_URL ? urlOf(env.PPGN_ENGINE_URL, 'PPGN_ENGINE_URL') : undefined,
    engineId: engineId(env.PPGN_ENGINE_ID),
    leaseMs: ((s) => (s === undefined ? undefined : s * 1000))(positive(env.PPGN_LEASE_S, 'PPGN_LEASE_S')),
    streamMaxBytes: ((n) => (n === undefined ? undefined : Math.floor(n)))(
      positive(env.PPGN_STREAM_MAX_BYTES, 'PPGN_STREAM_MAX_BYTES'),
    ),
  };
}
