// Engine-to-engine calls over Redis pub/sub: each engine listens on its own channel; a call names
// the target engine, the reply comes back on the caller's channel. Bytes (PNG frames) travel as
// base64. Errors keep their code (a RoomError on the owner is a RoomError at the caller).
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { ErrorCode } from '@ppgn/shared';
import { RoomError } from '../rooms/model';

type RedisClient = ReturnType<typeof createClient>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler states its own argument type
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
  error?: { message: string; code: ErrorCode };
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

export class Rpc {
  private pending = new Map<
    string,
    { resolve(v: unknown): void; reject(e: unknown): void; timer: ReturnType<typeof setTimeout> }
  >();
  private handlers = new Map<string, Handler>();
  private closed = false;

  private constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    readonly engineId: string,
    private readonly log: (l: string) => void,
  ) {}

  static async connect(url: string, engineId: string, log: (l: string) => void = () => {}): Promise<Rpc> {
    const pub = createClient({ url });
    pub.on('error', (err) => log(`redis (rpc): ${(err as Error).message}`));
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await pub.connect();
    await sub.connect();
    const rpc = new Rpc(pub, sub, engineId, log);
    const onMessage = (text: string) => rpc.receive(text);
    await sub.subscribe(PREFIX + engineId, onMessage);
    await sub.subscribe(ALL, onMessage);
    return rpc;
  }

  /** Answer `method` calls (and notifications) with `fn`; a throw becomes the caller's error. */
  handle(method: string, fn: Handler): void {
    this.handlers.set(method, fn);
  }

  /** Call `method` on engine `target`; rejects with RpcTimeout after `timeoutMs`. */
  call<T>(target: string, method: string, args: unknown, timeoutMs = 3000): Promise<T> {
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
  notify(target: string, method: string, args: unknown): void {
    if (target === this.engineId) {
      void Promise.resolve()
        .then(() => this.local(method, args))
        .catch(() => {});
      return;
    }
    this.send(PREFIX + target, { k: 'req', id: null, from: this.engineId, method, args }).catch(() => {});
  }

  /** Tell every engine (this one too). */
  broadcast(method: string, args: unknown): void {
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

  private async send(channel: string, msg: Request | Response) {
    if (this.closed) throw new RoomError('the engine is shutting down', 'unavailable');
    await this.pub.publish(channel, encode(msg));
  }

  private receive(text: string) {
    let msg: Request | Response;
    try {
      msg = decode<Request | Response>(text);
    } catch {
      return;
    }
    if (msg.k === 'res') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new RoomError(msg.error?.message ?? 'failed on another engine', msg.error?.code ?? 'internal'));
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
            error: { message: code === 'internal' ? 'internal error' : (err as Error).message, code },
          });
        },
      );
  }
}
