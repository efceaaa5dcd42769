// The Socket.IO Redis stream, capped by bytes. The adapter caps it by entries (XADD MAXLEN), but entries differ in
// size by 100× (a 1 KB frame of a small pack, a 58 KB patch of a long stroke list): 2 000 entries meant anything
// from 2 to 116 MB of Redis memory. Every `everyMs` one check measures the stream (MEMORY USAGE) and, over budget,
// trims the oldest entries (XTRIM MAXLEN) to 90 % of it. Between checks the stream can overshoot by what the
// cluster broadcasts in `everyMs`. Trimming only shortens connection-state recovery: a client away longer than
// the stream's history joins again and resyncs by version.
import type { createClient } from 'redis';

type Redis = ReturnType<typeof createClient>;

/** the stream the adapter writes to for the default namespace ("/"): its default streamName */
export const ADAPTER_STREAM = 'socket.io';
export const DEFAULT_STREAM_MAX_BYTES = 20_000_000;

export interface StreamCheck {
  bytes: number;
  entries: number;
  /** entries kept after trimming (absent: within budget) */
  trimmedTo?: number;
}

export class StreamCap {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** checks that trimmed, and entries removed by them */
  readonly stats = { trims: 0, removed: 0 };

  constructor(
    private readonly redis: Redis,
    readonly maxBytes: number = DEFAULT_STREAM_MAX_BYTES,
    private readonly log: (l: string) => void = () => {},
    readonly key: string = ADAPTER_STREAM,
  ) {}

  /** Measure the stream once and trim it to 90 % of the budget when it is over. */
  async check(): Promise<StreamCheck> {
    // SAMPLES 0: every entry counted (a stream is a few thousand entries: cheap)
    const bytes = Number((await this.redis.sendCommand(['MEMORY', 'USAGE', this.key, 'SAMPLES', '0'])) ?? 0);
    const entries = bytes > 0 ? await this.redis.xLen(this.key) : 0;
    if (bytes <= this.maxBytes || entries === 0) return { bytes, entries };
    const keep = Math.max(1, Math.floor((entries * this.maxBytes * 0.9) / bytes));
    await this.redis.xTrim(this.key, 'MAXLEN', keep);
    this.stats.trims++;
    this.stats.removed += entries - keep;
    return { bytes, entries, trimmedTo: keep };
  }

  start(everyMs = 1000): void {
    if (this.timer) return;
    let warned = false;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      this.check()
        .then(() => (warned = false))
        .catch((err: Error) => {
          if (!warned) this.log(`redis stream cap: ${err.message}`);
          warned = true;
        })
        .finally(() => (this.running = false));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
