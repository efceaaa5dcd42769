'use client';

import { useEffect, useState } from 'react';
import { rememberedRoom, type RoomLinks } from '../../lib/identity';

export function ShareLinks({ roomId }: { roomId: string }) {
  const [links, setLinks] = useState<RoomLinks | null | undefined>(undefined);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => setLinks(rememberedRoom(roomId)), [roomId]);
  if (links === undefined) return null;
  const origin = typeof window !== 'undefined' ? window.location.origin : '';
  return (
    <section className="panel" aria-labelledby="share-title" data-testid="share-links">
      <header className="panel-head">
        <h2 id="share-title">Invite</h2>
      </header>
      {links === null ? (
        <p className="muted small">Share links are kept in the browser that created the room; open the room from there to invite people.</p>
      ) : (
        (['editor', 'viewer'] as const).map((role) => {
          const url = origin + links[role];
          return (
            <div key={role} className="share-row">
              <label className="small muted" htmlFor={`share-${role}`}>
                {role === 'editor' ? 'Editors can steer' : 'Viewers can watch'}
              </label>
              <div className="copy">
                <input id={`share-${role}`} readOnly value={url} data-testid={`share-${role}`} onFocus={(e) => e.target.select()} />
                <button
                  type="button"
                  onClick={() => {
                    void navigator.clipboard?.writeText(url).then(() => setCopied(role), () => setCopied(null));
                  }}
                >
                  {copied === role ? 'Copied' : 'Copy'}
                </button>
              </div>
            </div>
          );
        })
      )}
    </section>
  );
}
