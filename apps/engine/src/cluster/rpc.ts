// Engine-to-engine calls over Redis pub/sub: each engine listens on its own channel; a call names
// the target engine, the reply comes back on the caller's channel. Bytes (PNG frames) travel as
// base64. Errors keep their code (a RoomError on the owner is a RoomError at the caller).
//
// Every message is signed with the cluster's shared secret (HMAC-SHA256 over the message, which carries
// its time and a nonce): whoever can publish to Redis but does not hold PPGN_CLUSTER_SECRET cannot make an
// engine drop a room, join someone into one or steer it, and a captured message is not taken twice or late.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createClient } from 'redis';
import type { ErrorCode, ErrorReason } from '@ppgn/shared';
import { RoomError } from '../rooms/errors';

type RedisClient = ReturnType<typeof createClient>;

/** The calls an Rpc carries: method name → its arguments and its answer (one map, typed at both ends). */
export type CallMap = Record<string, { args: unknown; result: unknown }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- stored untyped: `handle` types each one by the call map
type Handler = (args: any, from: string) => unknown;

interface Request {
  k: 'req';
  id: string | null;
  from: string;
  method: string;
  args: unknown;
}
interface Response {
  k: 'res';
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { message: string; code: ErrorCode; reason?: ErrorReason };
}

/** a message older (or newer, clock skew) than this is dropped */
const MAX_AGE_MS = 30_000;

interface Envelope {
  /** sent at (ms since the epoch) */
  t: number;
  /** once only */
  n: string;
  m: Request | Response;
}

const PREFIX = 'ppgn:engine:';
const ALL = 'ppgn:engines';

/** The callee did not answer in time (dead, or too busy): the caller decides what to do. */
export class RpcTimeout extends Error {
  constructor(target: string, method: string) {
    super(`engine ${target} did not answer ${method} in time`);
    this.name = 'RpcTimeout';
  }
}

function encode(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v instanceof Uint8Array) return { $b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data))
      return { $b64: Buffer.from(v.data).toString('base64') };
    return v;
  });
}

/** JSON with bytes back as Buffers */
function decode<T>(text: string): T {
  return JSON.parse(text, (_k, v) =>
    v && typeof v === 'object' && typeof v.$b64 === 'string' ? Buffer.from(v.$b64, 'base64') : v,
  );
}

export class Rpc<Calls extends CallMap = CallMap> {
  private pending = new Map<
    string,
    { resolve(v: unknown): void; reject(e: unknown): void; timer: ReturnType<typeof setTimeout> }
  >();
  private handlers = new Map<string, Handler>();
  private closed = false;
  /** nonces seen in the last MAX_AGE_MS (insertion order = time order) */
  private seen = new Map<string, number>();
  /** messages dropped for a bad signature, age or replay (logged once a minute at most) */
  private dropped = 0;
  private lastDropLog = 0;

  private constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    readonly engineId: string,
    private readonly secret: string,
    private readonly log: (l: string) => void,
  ) {}

  static async connect<C extends CallMap = CallMap>(
    url: string,
    engineId: string,
    secret: string,
    log: (l: string) => void = () => {},
  ): Promise<Rpc<C>> {
    const pub = createClient({ url });
    pub.on('error', (err) => log(`redis (rpc): ${(err as Error).message}`));
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await pub.connect();
    await sub.connect();
    const rpc = new Rpc<C>(pub, sub, engineId, secret, log);
    const onMessage = (text: string) => rpc.receive(text);
    await sub.subscribe(PREFIX + engineId, onMessage);
    await sub.subscribe(ALL, onMessage);
    return rpc;
  }

  /** Answer `method` calls (and notifications) with `fn`; a throw becomes the caller's error. */
  handle<M extends keyof Calls & string>(
    method: M,
    fn: (args: Calls[M]['args'], from: string) => Calls[M]['result'] | Promise<Calls[M]['result']>,
  ): void {
    this.handlers.set(method, fn as Handler);
  }

  /** Call `method` on engine `target`; rejects with RpcTimeout after `timeoutMs`. */
  call<M extends keyof Calls & string>(
    target: string,
    method: M,
    args: Calls[M]['args'],
    timeoutMs = 3000,
  ): Promise<Calls[M]['result']> {
    type T = Calls[M]['result'];
    if (target === this.engineId) return Promise.resolve(this.local(method, args)) as Promise<T>;
    const id = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcTimeout(target, method));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send(PREFIX + target, { k: 'req', id, from: this.engineId, method, args }).catch((err) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Fire and forget. */
  notify<M extends keyof Calls & string>(target: string, method: M, args: Calls[M]['args']): void {
    if (target === this.engineId) {
      void Promise.resolve()
        .then(() => this.local(method, args))
        .catch(() => {});
      return;
    }
    this.send(PREFIX + target, { k: 'req', id: null, from: this.engineId, method, args }).catch(() => {});
  }

  /** Tell every engine (this one too). */
  broadcast<M extends keyof Calls & string>(method: M, args: Calls[M]['args']): void {
    this.send(ALL, { k: 'req', id: null, from: this.engineId, method, args }).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RoomError('the engine is shutting down', 'unavailable'));
    }
    this.pending.clear();
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
  }

  private local(method: string, args: unknown): unknown {
    const h = this.handlers.get(method);
    if (!h) throw new Error(`no rpc handler "${method}"`);
    return h(decode(encode(args)), this.engineId);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('hex');
  }

  private async send(channel: string, msg: Request | Response) {
    if (this.closed) throw new RoomError('the engine is shutting down', 'unavailable');
    const body = encode({ t: Date.now(), n: randomUUID(), m: msg } satisfies Envelope);
    await this.pub.publish(channel, `${this.sign(body)}.${body}`);
  }

  /** The message inside a signed, fresh, first-seen envelope; null (and counted) otherwise. */
  private open(text: string): Request | Response | null {
    const dot = text.indexOf('.');
    const body = dot > 0 ? text.slice(dot + 1) : '';
    const got = Buffer.from(dot > 0 ? text.slice(0, dot) : '', 'hex');
    const want = Buffer.from(this.sign(body), 'hex');
    let env: Envelope | null = null;
    if (got.length === want.length && timingSafeEqual(got, want)) {
      try {
        env = decode<Envelope>(body);
      } catch {
        env = null;
      }
    }
    const now = Date.now();
    for (const [n, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(n);
    }
    const fresh =
      env &&
      typeof env.t === 'number' &&
      Math.abs(now - env.t) <= MAX_AGE_MS &&
      typeof env.n === 'string' &&
      !this.seen.has(env.n);
    if (!env || !fresh || !env.m || (env.m.k !== 'req' && env.m.k !== 'res')) {
      this.dropped++;
      if (now - this.lastDropLog > 60_000) {
        this.lastDropLog = now;
        this.log(
          `rpc: dropped ${this.dropped} message(s) so far that were unsigned, signed with another secret, stale or replayed (check PPGN_CLUSTER_SECRET, and who can publish to Redis)`,
        );
      }
      return null;
    }
    this.seen.set(env.n, now + 2 * MAX_AGE_MS);
    return env.m;
  }

  private receive(text: string) {
    const msg = this.open(text);
    if (!msg) return;
    if (msg.k === 'res') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.value);
      else
        p.reject(
          new RoomError(
            msg.error?.message ?? 'failed on another engine',
            msg.error?.code ?? 'internal',
            msg.error?.reason,
          ),
        );
      return;
    }
    const handler = this.handlers.get(msg.method);
    const reply = (r: Omit<Response, 'k' | 'id'>) => {
      if (msg.id !== null) this.send(PREFIX + msg.from, { k: 'res', id: msg.id, ...r }).catch(() => {});
    };
    if (!handler)
      return reply({
        ok: false,
        error: { message: `engine ${this.engineId} cannot do "${msg.method}"`, code: 'internal' },
      });
    Promise.resolve()
      .then(() => handler(msg.args, msg.from))
      .then(
        (value) => reply({ ok: true, value: value ?? null }),
        (err: unknown) => {
          const code: ErrorCode = err instanceof RoomError ? err.code : 'internal';
          if (code === 'internal')
            this.log(`rpc ${msg.method} from ${msg.from} failed: ${(err as Error)?.stack ?? err}`);
          reply({
            ok: false,
            error: {
              message: code === 'internal' ? 'internal error' : (err as Error).message,
              code,
              ...(err instanceof RoomError && err.reason ? { reason: err.reason } : {}),
            },
          });
        },
      );
  }
}
