/** Minimal progress bar on stderr (redraws in place on a TTY, prints every ~10 % otherwise). */
export class Progress {
  private t0 = performance.now();
  private lastPrint = 0;
  private lastPct = -1;
  private readonly tty = !!process.stderr.isTTY;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly start = 0,
    private readonly enabled = true,
  ) {}

  msPerStep(step: number): number {
    const done = step - this.start;
    return done > 0 ? (performance.now() - this.t0) / done : 0;
  }

  update(step: number, info: Record<string, number> = {}): void {
    if (!this.enabled) return;
    const now = performance.now();
    const pct = Math.floor((step / this.total) * 10);
    const final = step >= this.total;
    if (this.tty ? now - this.lastPrint < 200 && !final : pct === this.lastPct && !final) return;
    this.lastPrint = now;
    this.lastPct = pct;
    const ms = this.msPerStep(step);
    const eta = ((this.total - step) * ms) / 1000;
    const w = 24;
    const fill = Math.round((step / this.total) * w);
    const bar = '█'.repeat(fill) + '░'.repeat(w - fill);
    const extras = Object.entries(info)
      .map(
        ([k, v]) =>
          `${k} ${Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3)}`,
      )
      .join(' ');
    const line = `[${this.label}] ${bar} ${step}/${this.total} ${ms.toFixed(0)} ms/step eta ${fmtTime(eta)} ${extras}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else process.stderr.write(line + '\n');
  }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
