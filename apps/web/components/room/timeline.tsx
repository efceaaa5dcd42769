'use client';

import { useCallback, useEffect, useState } from 'react';
import { request } from '../../lib/api';

/** Scrub the kept chain history, preview a step's image, fork a new room from it. */
export function Timeline({
  base,
  roomId,
  token,
  canFork,
  onFork,
  onError,
}: {
  base: string;
  roomId: string;
  token: string;
  canFork: boolean;
  onFork: (step: number) => void;
  onError: (msg: string) => void;
}) {
  const [steps, setSteps] = useState<number[]>([]);
  const [current, setCurrent] = useState<number | null>(null);
  const [idx, setIdx] = useState<number | null>(null);
  const load = useCallback(async () => {
    try {
      const h = await request<{ steps: number[]; current: number }>(base, 'GET', `/rooms/${roomId}/history?token=${encodeURIComponent(token)}`);
      setSteps(h.steps);
      setCurrent(h.current);
      return h.steps;
    } catch (err) {
      onError(`history: ${(err as Error).message}`);
      return [];
    }
  }, [base, roomId, token, onError]);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load]);
  const step = idx !== null ? steps[Math.min(idx, steps.length - 1)] : undefined;
  return (
    <section className="panel timeline" aria-labelledby="timeline-title" data-testid="timeline">
      <header className="panel-head">
        <h2 id="timeline-title">Timeline</h2>
        <span className="muted small">
          {steps.length ? `${steps.length} kept steps · now at ${current ?? '…'}` : 'no history kept yet'}
        </span>
      </header>
      <div className="timeline-row">
        <input
          type="range"
          min={0}
          max={Math.max(0, steps.length - 1)}
          step={1}
          value={idx ?? Math.max(0, steps.length - 1)}
          disabled={steps.length === 0}
          aria-label="Chain history"
          aria-valuetext={step !== undefined ? `step ${step}` : 'live'}
          onChange={(e) => setIdx(Number(e.target.value))}
          onFocus={() => void load()}
        />
        {step !== undefined ? (
          <>
            <img
              className="thumb pixel"
              src={`${base}/rooms/${roomId}/history/${step}.png?token=${encodeURIComponent(token)}`}
              alt={`Frame at step ${step}`}
              width={64}
              height={64}
              data-testid="history-preview"
            />
            <span className="num">step {step}</span>
            {canFork && (
              <button type="button" onClick={() => onFork(step)}>
                Fork from here
              </button>
            )}
            <button type="button" className="small-btn" onClick={() => setIdx(null)}>
              Close
            </button>
          </>
        ) : (
          <span className="muted small">Drag to look back</span>
        )}
      </div>
    </section>
  );
}
