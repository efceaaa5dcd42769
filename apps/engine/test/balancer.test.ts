import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Server as IOServer } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBackend, startBalancer, stickyIndex, type Balancer } from '../src/launch/balancer';

/** A backend that greets each connection with its name and a newline, then echoes what it gets (and ends when the client ends). */
class EchoBackend {
  server: net.Server;
  conns = new Set<net.Socket>();
  port = 0;
  constructor(readonly name: string) {
    this.server = this.make();
  }
  private make() {
    return net.createServer({ allowHalfOpen: true }, (s) => {
      this.conns.add(s);
      s.on('close', () => this.conns.delete(s));
      s.on('error', () => {});
      s.write(`${this.name}\n`);
      s.pipe(s);
    });
  }
  async listen(port = 0) {
    if (!this.server.listening) this.server = this.make();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  /** Stop listening and drop every connection (an engine that died). */
  async kill() {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Connect through the balancer and read the backend's name (the first line). */
function greet(port: number): Promise<{ name: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a greeting (got "${buf}")`)));
    socket.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        socket.removeAllListeners('data');
        socket.removeAllListeners('close');
        resolve({ name: buf.slice(0, i), socket });
      }
    });
  });
}

async function names(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { name, socket } = await greet(port);
    socket.destroy();
    out.push(name);
  }
  return out;
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(opts: { sticky?: boolean } = {}): Promise<{ a: EchoBackend; b: EchoBackend; lb: Balancer }> {
  const a = new EchoBackend('A');
  const b = new EchoBackend('B');
  await a.listen();
  await b.listen();
  cleanup.push(
    async () => void (a.server.listening && (await a.kill())),
    async () => void (b.server.listening && (await b.kill())),
  );
  const lb = await startBalancer({
    backends: [`127.0.0.1:${a.port}`, { host: '127.0.0.1', port: b.port }],
    downMs: 300,
    ...opts,
  });
  cleanup.push(() => lb.close());
  return { a, b, lb };
}

describe('TCP balancer', () => {
  it('parses backend addresses', () => {
    expect(parseBackend('127.0.0.1:4001')).toEqual({ host: '127.0.0.1', port: 4001 });
    expect(parseBackend('4002')).toEqual({ host: '127.0.0.1', port: 4002 });
    expect(parseBackend('[::1]:4003')).toEqual({ host: '::1', port: 4003 });
    expect(() => parseBackend('localhost:99999')).toThrow(/backend address/);
    expect(() => parseBackend('nope')).toThrow(/backend address/);
  });

  it('alternates connections over the backends', async () => {
    const { lb } = await setup();
    expect(await names(lb.port, 4)).toEqual(['A', 'B', 'A', 'B']);
    expect(lb.backends().map((b) => b.connections)).toEqual([2, 2]);
  });

  it('passes bytes through unchanged, and a half-close (client ends first) still gets the whole answer', async () => {
    const { lb } = await setup();
    const payload = randomBytes(1 << 20);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(lb.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.end(payload);
    });
    const greeting = got.indexOf('\n');
    expect(got.subarray(greeting + 1).equals(payload)).toBe(true);
  });

  it('sends every connection to the live backend while one is dead, and none is lost when it comes back', async () => {
    const { a, b, lb } = await setup();
    const held = await greet(lb.port); // A: a long-lived connection to the backend that stays up
    await b.kill();
    expect(await names(lb.port, 6)).toEqual(['A', 'A', 'A', 'A', 'A', 'A']);
    expect(lb.dropped()).toBe(0);
    expect(lb.backends()[1]!.failures).toBeGreaterThanOrEqual(1);
    // B restarts on the same port: after its down period it gets its share again
    await b.listen(b.port);
    await new Promise((r) => setTimeout(r, 350));
    const after = await names(lb.port, 6);
    expect(after.filter((n) => n === 'B').length).toBe(3);
    expect(lb.dropped()).toBe(0);
    // the connection held through all of this still works
    held.socket.write('still here\n');
    const echoed = await new Promise<string>((resolve) => held.socket.once('data', (d) => resolve(d.toString())));
    expect(echoed).toBe('still here\n');
    held.socket.destroy();
    expect(a.server.listening).toBe(true);
  });

  it('drops a connection only when every backend refuses', async () => {
    const { a, b, lb } = await setup();
    await a.kill();
    await b.kill();
    await expect(greet(lb.port)).rejects.toThrow(/closed before a greeting/);
    expect(lb.dropped()).toBe(1);
  });

  it('sticky: the same client address always reaches the same backend', async () => {
    const { lb } = await setup({ sticky: true });
    const got = await names(lb.port, 5);
    expect(new Set(got).size).toBe(1);
    expect(got[0]).toBe(['A', 'B'][stickyIndex('127.0.0.1', 2)]);
  });

  it('carries HTTP and Socket.IO (websocket upgrade) through', async () => {
    const servers = ['A', 'B'].map((name) => {
      const srv = http.createServer((req, res) => res.end(`${name} ${req.url}`));
      const ioServer = new IOServer(srv);
      ioServer.on('connection', (s) => s.on('who', (cb: (n: string) => void) => cb(name)));
      return { srv, ioServer };
    });
    const ports: number[] = [];
    for (const { srv } of servers) {
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      ports.push((srv.address() as net.AddressInfo).port);
    }
    cleanup.push(() => Promise.all(servers.map(({ ioServer }) => ioServer.close())));
    const lb = await startBalancer({ backends: ports.map((p) => `127.0.0.1:${p}`) });
    cleanup.push(() => lb.close());

    const get = (url: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${lb.url}${url}`, { agent: false }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    expect([await get('/x'), await get('/y')]).toEqual(['A /x', 'B /y']);

    const who: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = ioClient(lb.url, { transports: ['websocket'], forceNew: true, reconnection: false });
      who.push(await c.timeout(5000).emitWithAck('who'));
      c.close();
    }
    expect(who).toEqual(['A', 'B']);
  });
});
