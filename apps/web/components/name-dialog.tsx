'use client';

import { useEffect, useRef, useState } from 'react';
import { LIMITS } from '@ppgn/shared';

/** Asks once for a display name (kept in localStorage by the caller). */
export function NameDialog({ initial, onDone }: { initial: string; onDone: (name: string) => void }) {
  const [name, setName] = useState(initial);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const ok = name.trim().length > 0;
  return (
    <div className="modal-backdrop">
      <form
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="name-title"
        onSubmit={(e) => {
          e.preventDefault();
          if (ok) onDone(name.trim());
        }}
      >
        <h2 id="name-title">What should others call you?</h2>
        <p className="muted small">
          Your name is shown next to your cursor and your changes. It is kept in this browser.
        </p>
        <label>
          <span className="small muted">Display name</span>
          <input
            ref={ref}
            value={name}
            maxLength={LIMITS.nameLength}
            onChange={(e) => setName(e.target.value)}
            aria-label="Display name"
          />
        </label>
        <div className="modal-actions">
          <button type="submit" className="primary" disabled={!ok}>
            Join the room
          </button>
        </div>
      </form>
    </div>
  );
}
