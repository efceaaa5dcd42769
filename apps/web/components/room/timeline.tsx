'use client';

import { useCallback, useEffect, useState } from 'react';
import { HttpError, request } from '../../lib/api';
import { plural } from '../../lib/format';

/** Scrub the kept chain history, preview a step's image, fork a new room from it. */
export function Timeline({
  base,
  roomId,
  token,
  canFork,
  onFork,
  onError,
  follow,
  onViewing,
}: {
  base: string;
  roomId: string;
  token: string;
  canFork: boolean;
  onFork: (step: number) => void;
  onError: (msg: string) => void;
  /** mirror someone else's timeline: their name and the step they look at (null = live) */
  follow?: { name: string; viewing: number | null } | null;
  /** tell the room which step this person is looking at (for people who follow them) */
  onViewing?: (step: number | null) => void;
}) {
  const [steps, setSteps] = useState<number[]>([]);
  const [current, setCurrent] = useState<number | null>(null);
  const [ownIdx, setOwnIdx] = useState<number | null>(null);
  const setIdx = (i: number | null) => {
    setOwnIdx(i);
    onViewing?.(i === null ? null : (steps[Math.min(i, steps.length - 1)] ?? null));
  };
  // following someone: show the step they look at (when it is kept), else the live frame
  const followedIdx = follow && follow.viewing !== null ? steps.indexOf(follow.viewing) : -1;
  const idx = follow ? (followedIdx >= 0 ? followedIdx : null) : ownIdx;
  const load = useCallback(async () => {
    try {
      const h = await request<{ steps: number[]; current: number }>(
        base,
        'GET',
        `/rooms/${roomId}/history?token=${encodeURIComponent(token)}`,
      );
      setSteps(h.steps);
      setCurrent(h.current);
      return h.steps;
    } catch (err) {
      // an engine that cannot be reached is the reconnect banner's to say (not a toast every 5 s)
      if (!(err instanceof HttpError && err.code === 'unavailable'))
        onError(`Could not load the history: ${(err as Error).message}`);
      return [];
    }
  }, [base, roomId, token, onError]);
  useEffect(() => {
    if (follow && follow.viewing !== null && !steps.includes(follow.viewing)) void load();
  }, [follow, steps, load]);
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
          {follow ? `following ${follow.name} · ` : ''}
          {steps.length ? `${plural(steps.length, 'kept step')} · now at ${current ?? '…'}` : 'no history kept yet'}
        </span>
      </header>
      <div className="timeline-row">
        <input
          type="range"
          min={0}
          max={Math.max(0, steps.length - 1)}
          step={1}
          value={idx ?? Math.max(0, steps.length - 1)}
          disabled={steps.length === 0 || !!follow}
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
              <button
                type="button"
                onClick={() => onFork(step)}
                title="Make a room of your own from this step: you own the copy (also with a viewer link); this room does not change"
              >
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
