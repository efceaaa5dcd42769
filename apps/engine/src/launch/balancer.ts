// A small TCP load balancer for engines on one machine (`npm run cluster`): one port, connections
// spread round-robin over the backends and passed through byte for byte (HTTP, WebSocket upgrades,
// anything). A backend that refuses a connection (or does not answer within `connectTimeoutMs`) is
// skipped — the connection goes to the next one — and is marked down for `downMs`; after that it is
// tried again on the next connection it is due, so a restarted engine gets traffic back by itself.
//
// Socket.IO: a WebSocket connection is one TCP connection, so any balancer works. HTTP long-polling
// is several requests that must reach the same engine (its session lives there): the web client
// opens the websocket transport first (polling is only its fallback), and `sticky: true` picks the
// backend from a hash of the client's address, so polling works too for clients behind it.
import { createHash } from 'node:crypto';
import net from 'node:net';

export interface BackendAddress {
  host: string;
  port: number;
}

export interface BackendState extends BackendAddress {
  /** connections handed to this backend so far */
  connections: number;
  /** connections open through it now */
  active: number;
  /** connection attempts it refused (or let time out) */
  failures: number;
  /** skipped until this time (ms since the epoch); 0 = up */
  downUntil: number;
}

export interface BalancerOptions {
  backends: (BackendAddress | string)[];
  /** port to listen on; 0 = a free one (default 0) */
  port?: number;
  /** address to listen on (default 127.0.0.1) */
  host?: string;
  /** choose the backend from a hash of the client's address instead of round-robin */
  sticky?: boolean;
  /** how long a backend that refused a connection is skipped (default 3000 ms) */
  downMs?: number;
  /** a backend that has not accepted within this time counts as refusing (default 3000 ms) */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface Balancer {
  port: number;
  host: string;
  url: string;
  /** per-backend counters (a copy) */
  backends(): BackendState[];
  /** connections that found no backend at all (every one refused) */
  dropped(): number;
  close(): Promise<void>;
}

/** "host:port", ":port" or "port" → {host, port}; throws on anything else. */
export function parseBackend(s: string): BackendAddress {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`not a backend address (host:port): "${s}"`);
  return { host: m[1] || '127.0.0.1', port };
}

/** A stable index for an address (sticky mode): the same client address → the same backend while the set is unchanged. */
export function stickyIndex(address: string, n: number): number {
  const a = address.replace(/^::ffff:/, '');
  return createHash('sha1').update(a).digest().readUInt32BE(0) % n;
}

export async function startBalancer(opts: BalancerOptions): Promise<Balancer> {
  if (opts.backends.length === 0) throw new Error('the balancer needs at least one backend');
  const backends: BackendState[] = opts.backends.map((b) => ({
    ...(typeof b === 'string' ? parseBackend(b) : b),
    connections: 0,
    active: 0,
    failures: 0,
    downUntil: 0,
  }));
  const downMs = opts.downMs ?? 3000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const open = new Set<net.Socket>();
  let next = 0;
  let dropped = 0;

  /** Backends in the order to try them: the chosen start first, those marked down last. */
  function order(client: net.Socket): BackendState[] {
    const n = backends.length;
    const start = opts.sticky ? stickyIndex(client.remoteAddress ?? '', n) : next++ % n;
    const rotated = Array.from({ length: n }, (_, i) => backends[(start + i) % n]!);
    const now = Date.now();
    return [...rotated.filter((b) => b.downUntil <= now), ...rotated.filter((b) => b.downUntil > now)];
  }

  function connect(b: BackendState): Promise<net.Socket | null> {
    return new Promise((resolve) => {
      const up = net.connect({ host: b.host, port: b.port });
      const timer = setTimeout(() => fail(new Error('connect timeout')), connectTimeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        up.destroy();
        b.failures += 1;
        if (b.downUntil <= Date.now())
          log(
            `backend ${b.host}:${b.port} is down (${(err as NodeJS.ErrnoException).code ?? err.message}); skipping it for ${downMs} ms`,
          );
        b.downUntil = Date.now() + downMs;
        resolve(null);
      };
      up.once('error', fail);
      up.once('connect', () => {
        clearTimeout(timer);
        up.removeListener('error', fail);
        if (b.downUntil) log(`backend ${b.host}:${b.port} is back`);
        b.downUntil = 0;
        resolve(up);
      });
    });
  }

  /** Pipe both ways; an end is passed on (half-close), an error or reset tears down both sides. */
  function join(down: net.Socket, up: net.Socket, b: BackendState): void {
    b.connections += 1;
    b.active += 1;
    open.add(up);
    up.setNoDelay(true);
    down.setNoDelay(true);
    let closed = 0;
    const onClose = (s: net.Socket) => () => {
      open.delete(s);
      if (++closed === 2) b.active -= 1;
    };
    up.on('close', onClose(up));
    down.on('close', onClose(down));
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    // a side that closed without a clean end (reset, destroyed) takes the other with it
    up.on('close', () => (down.writableEnded ? undefined : down.destroySoon()));
    down.on('close', () => up.destroy());
    down.pipe(up);
    up.pipe(down);
    down.resume();
  }

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (down) => {
    open.add(down);
    down.on('close', () => open.delete(down));
    // the client may reset while we look for a backend
    let gone = false;
    down.once('error', () => (gone = true));
    down.once('close', () => (gone = true));
    void (async () => {
      for (const b of order(down)) {
        if (gone) return;
        const up = await connect(b);
        if (!up) continue;
        if (gone) return void up.destroy();
        join(down, up, b);
        return;
      }
      dropped += 1;
      log(`no backend accepted a connection from ${down.remoteAddress}; dropping it`);
      down.destroy();
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    port,
    host,
    url: `http://${shown}:${port}`,
    backends: () => backends.map((b) => ({ ...b })),
    dropped: () => dropped,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
        open.clear();
      }),
  };
}
