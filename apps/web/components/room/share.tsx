'use client';

import { useEffect, useState } from 'react';
import { request } from '../../lib/api';
import { rememberRoom, rememberedRoom, type RoomLinks } from '../../lib/identity';
import { useToast } from '../providers';

/**
 * The owner's invite links, and "Replace links": after removing someone who still has a link, new editor and
 * viewer links admit no one with the old ones (people in the room now keep their place).
 */
export function ShareLinks({ roomId, base, token }: { roomId: string; base: string | null; token: string }) {
  const [links, setLinks] = useState<RoomLinks | null | undefined>(undefined);
  const [copied, setCopied] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  useEffect(() => setLinks(rememberedRoom(roomId)), [roomId]);
  if (links === undefined) return null;
  const origin = typeof window !== 'undefined' ? window.location.origin : '';
  const replace = async () => {
    if (!base) return;
    if (
      !window.confirm(
        'Replace the editor and viewer links? The old links stop letting anyone in; people in the room now stay.',
      )
    )
      return;
    setBusy(true);
    try {
      const r = await request<{ links: RoomLinks }>(base, 'POST', `/rooms/${encodeURIComponent(roomId)}/links`, {
        token,
      });
      rememberRoom(roomId, r.links);
      setLinks(r.links);
      setCopied(null);
      toast('info', 'New links made: share them again; the old ones no longer admit anyone.');
    } catch (err) {
      toast('error', `Could not replace the links: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="share-title" data-testid="share-links">
      <header className="panel-head">
        <h2 id="share-title">Invite</h2>
      </header>
      {links === null ? (
        <p className="muted small">
          Share links are kept in the browser that created the room; open the room from there to invite people, or make
          new ones.
        </p>
      ) : (
        (['editor', 'viewer'] as const).map((role) => {
          const url = origin + links[role];
          return (
            <div key={role} className="share-row">
              <label className="small muted" htmlFor={`share-${role}`}>
                {role === 'editor' ? 'Editors can steer' : 'Viewers can watch'}
              </label>
              <div className="copy">
                <input
                  id={`share-${role}`}
                  readOnly
                  value={url}
                  data-testid={`share-${role}`}
                  onFocus={(e) => e.target.select()}
                />
                <button
                  type="button"
                  onClick={() => {
                    void navigator.clipboard?.writeText(url).then(
                      () => setCopied(role),
                      () => setCopied(null),
                    );
                  }}
                >
                  {copied === role ? 'Copied' : 'Copy'}
                </button>
              </div>
            </div>
          );
        })
      )}
      <button
        type="button"
        className="small"
        onClick={() => void replace()}
        disabled={busy || !base}
        data-testid="replace-links"
      >
        {busy ? 'Replacing…' : 'Replace links'}
      </button>
    </section>
  );
}
