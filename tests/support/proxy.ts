// A loopback TCP proxy a test can cut: `cut()` destroys every connection through it (a real
// transport drop: both ends see the TCP connection close), `refuse` makes it drop new ones at once
// (the network is still down), `refuse = false` lets them through again.
import net from 'node:net';

export class TcpProxy {
  readonly server: net.Server;
  private conns = new Set<net.Socket>();
  /** while true, new connections are closed as soon as they arrive */
  refuse = false;
  /** connections accepted (and passed through) so far */
  accepted = 0;
  port = 0;

  constructor(
    /** where new connections go (a test may point it elsewhere: a load balancer that saw a backend die) */
    public targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.server = net.createServer((down) => {
      if (this.refuse) return void down.destroy();
      this.accepted += 1;
      const up = net.connect(this.targetPort, this.targetHost);
      for (const [a, b] of [
        [down, up],
        [up, down],
      ] as const) {
        this.conns.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.conns.delete(a);
          b.destroy();
        });
      }
      down.pipe(up);
      up.pipe(down);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drop every connection through the proxy. */
  cut(): void {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
