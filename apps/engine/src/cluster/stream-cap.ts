// The Socket.IO Redis stream, capped by bytes. The adapter caps it by entries (XADD MAXLEN), but entries differ in
// size by 100× (a 1 KB frame of a small pack, a 58 KB patch of a long stroke list): 2 000 entries meant anything
// from 2 to 116 MB of Redis memory. Every `everyMs` one check measures the stream (MEMORY USAGE) and, over budget,
// trims the oldest entries to about 90 % of it, never the last 5 s (check()). Between checks the stream can
// overshoot by what the cluster broadcasts in `everyMs`. Trimming only shortens connection-state recovery: a
// client away longer than the stream's history joins again and resyncs by version.
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
    /** entries younger than this are never trimmed (other engines may not have read them yet) */
    readonly keepMs = 5000,
  ) {}

  /**
   * Measure the stream once and, over budget, trim its oldest entries to about 90 % of it — but never the last
   * `keepMs` (5 s): the other engines read the stream as it grows, and an entry trimmed before a busy engine read
   * it would be a broadcast lost there. In a burst of more than the budget within 5 s the stream stays over it
   * until the burst is older. Entries carry their time in their id, so the cut is a time (XTRIM MINID),
   * interpolated between the oldest and newest entry (the next check corrects a skewed guess).
   */
  async check(now = Date.now()): Promise<StreamCheck> {
    // SAMPLES 0: every entry counted (a stream is a few thousand entries: cheap)
    const bytes = Number((await this.redis.sendCommand(['MEMORY', 'USAGE', this.key, 'SAMPLES', '0'])) ?? 0);
    if (bytes <= this.maxBytes) return { bytes, entries: bytes > 0 ? await this.redis.xLen(this.key) : 0 };
    const info = (await this.redis.sendCommand(['XINFO', 'STREAM', this.key])) as unknown[];
    const field = (name: string) => info[info.indexOf(name) + 1];
    const entries = Number(field('length'));
    const timeOf = (entry: unknown) => Number(String((entry as unknown[])?.[0] ?? '0-0').split('-')[0]);
    const first = timeOf(field('first-entry'));
    const last = timeOf(field('last-entry'));
    const keepShare = (this.maxBytes * 0.9) / bytes;
    const cut = Math.min(Math.floor(last - (last - first) * keepShare), now - this.keepMs);
    if (entries === 0 || cut <= first) return { bytes, entries };
    const removed = Number(await this.redis.sendCommand(['XTRIM', this.key, 'MINID', String(cut)]));
    this.stats.trims++;
    this.stats.removed += removed;
    return { bytes, entries, trimmedTo: entries - removed };
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
