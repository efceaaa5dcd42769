'use client';

import { useRef, useState } from 'react';
import { request, type GalleryItem } from '../../lib/api';
import { useToast } from '../providers';
import { shortId } from '../debounce';

/** Clicks closer together than this are one intended save (a double click). */
export const DOUBLE_CLICK_MS = 800;

export interface SaveKeyState {
  key: string | null;
  /** when the last save with `key` was asked for */
  at: number;
  /** did the last save with `key` succeed? */
  done: boolean;
}

/**
 * The idempotency key for a save click. The same intended save keeps its key: a double click, a
 * click while the first is in flight and a retry after a failure (the engine may have stored it
 * anyway) all reuse it, so the engine returns the first item instead of a duplicate. A click after
 * a finished save is a new save with a new key.
 */
export function saveKeyFor(
  prev: SaveKeyState,
  now: number,
  newKey: () => string = () => shortId('s') + shortId(''),
): string {
  if (prev.key && (!prev.done || now - prev.at < DOUBLE_CLICK_MS)) return prev.key;
  return newKey();
}

/** "Save to gallery", "Export GIF" and a slot for "View saved item" whose space is always reserved, so the buttons never move. */
export function SaveArea({
  base,
  roomId,
  token,
  author,
  canSave,
  viewer = false,
}: {
  base: string | null;
  roomId: string;
  token: string;
  author: string | null;
  canSave: boolean;
  /** viewers cannot save (the engine answers 403): the button is not shown */
  viewer?: boolean;
}) {
  const toast = useToast();
  const [saved, setSaved] = useState<GalleryItem | null>(null);
  const [busy, setBusy] = useState(false);
  const keyState = useRef<SaveKeyState>({ key: null, at: 0, done: false });
  const inFlight = useRef(false);

  const save = async () => {
    if (!base || !author) return;
    const now = Date.now();
    const key = saveKeyFor(keyState.current, now);
    const repeat = key === keyState.current.key;
    keyState.current = { key, at: now, done: repeat && keyState.current.done };
    // a second click of the same save while the first is under way: the first one answers
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    try {
      const item = await request<GalleryItem>(base, 'POST', '/gallery', { token, roomId, author, idempotencyKey: key });
      if (keyState.current.key === key) keyState.current = { ...keyState.current, done: true };
      if (saved?.id !== item.id) toast('ok', `Saved “${item.title}” to the gallery`);
      setSaved(item);
    } catch (err) {
      toast('error', `Could not save: ${(err as Error).message}`);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  return (
    <>
      {!viewer && (
        <button type="button" onClick={() => void save()} disabled={!canSave || busy} data-testid="save">
          Save to gallery
        </button>
      )}
      {base && (
        <a className="button" href={`${base}/rooms/${roomId}/export.gif?token=${encodeURIComponent(token)}`} download>
          Export GIF
        </a>
      )}
      {/* always rendered at a fixed width, so the buttons before it do not move when the link appears */}
      <span className="saved-slot" data-testid="saved-slot" aria-live="polite">
        {saved && (
          <a href={`/gallery/${saved.id}`} className="small" data-testid="saved-link">
            View saved item →
          </a>
        )}
      </span>
    </>
  );
}
