// Rate limits of a socket connection: a token bucket (per person: changes, presence; per connection: joins) and a
// fixed-window counter (per client address: new people).

export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** At most `limit` events per key (a client address) per fixed window. */
export class WindowCounter {
  private counts = new Map<string, { start: number; n: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}
  take(key: string, now = Date.now()): boolean {
    let c = this.counts.get(key);
    if (!c || now - c.start >= this.windowMs) {
      if (this.counts.size > 10_000)
        for (const [k, v] of this.counts) if (now - v.start >= this.windowMs) this.counts.delete(k);
      c = { start: now, n: 0 };
      this.counts.set(key, c);
    }
    if (c.n >= this.limit) return false;
    c.n += 1;
    return true;
  }
}
