'use client';

import { useRef } from 'react';
import type { ScorePoint } from '../../lib/room-client';
import { plural } from '../../lib/format';
import { scoreMeaning } from '../../lib/scores';

const COLORS = ['#7c9cff', '#3ecf8e', '#ffb454', '#ff6b9a', '#56d4ff', '#c792ea', '#f78c6c', '#a3be8c'];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Colours by series name, not by position: a series keeps its colour while others come and go.
 * A new name starts at its hash's colour and takes the next one not used by a shown series.
 */
export function assignColors(names: string[], prev: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of names) {
    const c = prev.get(n);
    if (c) out.set(n, c);
  }
  for (const n of names) {
    if (out.has(n)) continue;
    const used = new Set(out.values());
    const start = hash(n) % COLORS.length;
    let c = COLORS[start]!;
    for (let k = 0; k < COLORS.length; k++) {
      const cand = COLORS[(start + k) % COLORS.length]!;
      if (!used.has(cand)) {
        c = cand;
        break;
      }
    }
    out.set(n, c);
  }
  return new Map([...prev, ...out]);
}

/** Condition scores over steps as plain SVG lines (no chart library). */
export function ScoreChart({
  points,
  conditions = 0,
  running = true,
  width = 320,
  height = 120,
}: {
  points: ScorePoint[];
  /** how many enabled conditions the room has (scores come only from running the chain) */
  conditions?: number;
  running?: boolean;
  width?: number;
  height?: number;
}) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.scores)))]
    .filter((n) => n !== 'contextError')
    .slice(0, COLORS.length);
  const colorsRef = useRef<Map<string, string>>(new Map());
  const colors = assignColors(names, colorsRef.current);
  colorsRef.current = colors;
  const pad = 4;
  // every score on one 0–1 scale (higher = closer to what its condition asks), so they can share the axis
  const meaning = new Map(names.map((n) => [n, scoreMeaning(n)]));
  const value = (p: ScorePoint, n: string): number | undefined => {
    const v = p.scores[n];
    return v === undefined || !Number.isFinite(v) ? undefined : meaning.get(n)!.unit(v);
  };
  let hi = 0;
  for (const p of points) for (const n of names) hi = Math.max(hi, value(p, n) ?? 0);
  // a 0..1 axis (zoomed in while every score stays small) so lines do not jump around
  const lo = 0;
  hi = hi < 0.05 ? Math.max(1e-6, hi * 1.2) : 1;
  const s0 = points[0]?.step ?? 0;
  const s1 = points[points.length - 1]?.step ?? 1;
  const x = (s: number) => pad + ((s - s0) / Math.max(1, s1 - s0)) * (width - 2 * pad);
  const y = (v: number) => height - pad - ((v - lo) / (hi - lo)) * (height - 2 * pad);
  const last = points[points.length - 1];
  return (
    <section className="panel chart" aria-labelledby="chart-title" data-testid="score-chart">
      <header className="panel-head">
        <h2 id="chart-title">Scores</h2>
        <span className="muted small">{points.length ? `steps ${s0}–${s1}` : 'waiting for frames'}</span>
      </header>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        height={height}
        role="img"
        aria-label={`Condition scores over the last ${plural(points.length, 'step')}`}
        preserveAspectRatio="none"
      >
        <line x1={pad} x2={width - pad} y1={y(lo)} y2={y(lo)} className="axis" />
        <line x1={pad} x2={width - pad} y1={y(hi)} y2={y(hi)} className="axis faint" />
        {names.map((n) => {
          const d = points
            .filter((p) => value(p, n) !== undefined)
            .map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.step).toFixed(1)},${y(value(p, n)!).toFixed(1)}`)
            .join(' ');
          return d ? (
            <path
              key={n}
              d={d}
              fill="none"
              stroke={colors.get(n)}
              strokeWidth={1.6}
              vectorEffect="non-scaling-stroke"
              data-series={n}
            />
          ) : null;
        })}
      </svg>
      {names.length === 0 ? (
        <p className="muted small" data-testid="score-empty">
          {conditions === 0
            ? 'Add a condition to see how well each frame matches it.'
            : running
              ? 'Waiting for the next frame’s scores…'
              : 'Paused: press Play or Step to score frames against the conditions.'}
        </p>
      ) : (
        <ul className="legend">
          {names.map((n) => (
            <li
              key={n}
              data-series={n}
              title={`${meaning.get(n)!.tip}${last?.scores[n] !== undefined ? ` — raw value ${last.scores[n]!.toPrecision(3)}` : ''}`}
            >
              <span className="swatch" style={{ background: colors.get(n) }} aria-hidden />
              {meaning.get(n)!.label}
              <span className="num">{last && value(last, n) !== undefined ? value(last, n)!.toFixed(2) : '–'}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
