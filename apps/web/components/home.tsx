'use client';

import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import {
  galleryImage,
  galleryQuery,
  parseRoomLink,
  request,
  type CreatedRoom,
  type GalleryItem,
  type PackInfo,
} from '../lib/api';
import { defaultName, getCredential, getName, rememberRoom, setCredential, setName as saveName } from '../lib/identity';
import { useEngineBase, useToast } from './providers';
import { plural } from '../lib/format';

export function CreateRoom() {
  const base = useEngineBase();
  const toast = useToast();
  const router = useRouter();
  const [packs, setPacks] = useState<PackInfo[] | null>(null);
  const [packId, setPackId] = useState('');
  const [label, setLabel] = useState('');
  const [q, setQ] = useState('');
  const [name, setName] = useState('');
  const [me, setMe] = useState('');
  useEffect(() => setMe(getName() ?? defaultName()), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!base) return;
    request<PackInfo[]>(base, 'GET', '/packs').then(
      (p) => {
        setPacks(p);
        setPackId((cur) => cur || p[0]?.id || '');
      },
      (err) => setError((err as Error).message),
    );
  }, [base]);
  const pack = packs?.find((p) => p.id === packId);
  const classes = pack?.conditionSpecs?.find((c) => c.kind === 'classes') as
    { id: string; labels: string[] } | undefined;
  const shown = (classes?.labels ?? [])
    .filter((l) => !q.trim() || l.toLowerCase().includes(q.trim().toLowerCase()))
    .slice(0, 60);

  const create = async () => {
    if (!base) return;
    setBusy(true);
    setError(null);
    const author = me.trim() || defaultName();
    saveName(author);
    try {
      const r = await request<CreatedRoom>(base, 'POST', '/rooms', {
        packId: packId || undefined,
        name: name.trim() || undefined,
        author,
        conditions:
          label && classes ? [{ target: { kind: 'class', condition: classes.id, labels: [label] }, weight: 1 }] : [],
      });
      rememberRoom(r.id, r.links);
      router.push(r.links.owner);
    } catch (err) {
      setError((err as Error).message);
      toast('error', `Could not create the room: ${(err as Error).message}`);
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="create-title" data-testid="create-room">
      <h2 id="create-title">Start a room</h2>
      <form
        className="form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label>
          <span className="small muted">Your name</span>
          <input value={me} maxLength={40} onChange={(e) => setMe(e.target.value)} aria-label="Your name" />
        </label>
        <label>
          <span className="small muted">Room name (optional)</span>
          <input value={name} maxLength={80} onChange={(e) => setName(e.target.value)} placeholder="e.g. Friday jam" />
        </label>
        <label className="span2">
          <span className="small muted">Model pack</span>
          <select
            value={packId}
            onChange={(e) => {
              setPackId(e.target.value);
              setLabel('');
            }}
            disabled={!packs?.length}
            aria-label="Model pack"
          >
            {!packs && <option>Loading…</option>}
            {packs?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} {p.version} · {p.imageSize[0]}×{p.imageSize[1]}
              </option>
            ))}
          </select>
        </label>
        {classes && (
          <fieldset className="span2">
            <legend className="small muted">Start with a class (optional)</legend>
            <input
              type="search"
              placeholder={`Search ${plural(classes.labels.length, 'class', 'classes')}…`}
              aria-label="Search start classes"
              value={q}
              onChange={(e) => setQ(e.target.value)}
            />
            <div className="chips" role="radiogroup" aria-label="Start class">
              <button
                type="button"
                role="radio"
                aria-checked={label === ''}
                className="chip"
                onClick={() => setLabel('')}
              >
                none
              </button>
              {shown.map((l) => (
                <button
                  key={l}
                  type="button"
                  role="radio"
                  aria-checked={label === l}
                  className="chip"
                  onClick={() => setLabel(l)}
                >
                  {l}
                </button>
              ))}
            </div>
          </fieldset>
        )}
        {error && (
          <p className="error small span2" role="alert">
            {error}
          </p>
        )}
        <div className="span2">
          <button type="submit" className="primary big" disabled={busy || !packs?.length}>
            {busy ? 'Creating…' : 'Create room'}
          </button>
        </div>
      </form>
    </section>
  );
}

export function JoinByLink() {
  const router = useRouter();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="join-title">
      <h2 id="join-title">Join a room</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const r = parseRoomLink(text);
          if (!r) return setError('Paste a room link like https://…/room/abc123?t=…');
          router.push(`/room/${r.id}?t=${encodeURIComponent(r.token)}`);
        }}
      >
        <input
          aria-label="Room link"
          placeholder="Paste a room link"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
          aria-invalid={error ? true : undefined}
        />
        <button type="submit">Join</button>
      </form>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function GalleryStrip({ title, starred = false }: { title: string; starred?: boolean }) {
  const base = useEngineBase();
  const [items, setItems] = useState<GalleryItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!base) return;
    request<{ items: GalleryItem[] }>(base, 'GET', `/gallery${galleryQuery({ starred, limit: 8 })}`).then(
      (r) => setItems(r.items),
      (err) => setError((err as Error).message),
    );
  }, [base, starred]);
  return (
    <section className="card" aria-label={title}>
      <header className="panel-head">
        <h2>{title}</h2>
        <a href={starred ? '/gallery?starred=1' : '/gallery'} className="small">
          See all →
        </a>
      </header>
      {error && <p className="error small">{error}</p>}
      {items && items.length === 0 && (
        <p className="muted small">
          {starred ? 'Nothing starred yet.' : 'Nothing saved yet — save a frame from a room.'}
        </p>
      )}
      {!items && !error && <div className="strip skeleton-strip" aria-busy="true" />}
      {items && items.length > 0 && base && (
        <ul className="strip">
          {items.map((it) => (
            <li key={it.id}>
              <a href={`/gallery/${it.id}`} title={it.title}>
                <img
                  className="pixel"
                  src={galleryImage(base, it.id)}
                  alt={it.title}
                  width={96}
                  height={96}
                  loading="lazy"
                />
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * This browser's identity: the credential the engine gave it (kept in localStorage). Replacing it makes the old
 * one prove no one (a copy that leaked, a shared computer); roles and removals stay with the person.
 */
export function BrowserIdentity() {
  const base = useEngineBase();
  const toast = useToast();
  const [has, setHas] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => setHas(getCredential() !== null), []);
  if (!has) return null;
  const replace = async () => {
    if (!base) return;
    setBusy(true);
    try {
      const r = await request<{ credential: string }>(base, 'POST', '/people/me/credential', {});
      setCredential(r.credential);
      toast('ok', 'This browser has a new key; the old one no longer works anywhere.');
    } catch (err) {
      toast('error', `Could not replace the key: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="identity-title" data-testid="browser-identity">
      <h2 id="identity-title">This browser</h2>
      <p className="muted small">
        The studio knows this browser by a key it keeps here (there are no accounts). If it may have been copied,
        replace it: the old key stops working; your roles in rooms stay with you.
      </p>
      <button type="button" onClick={() => void replace()} disabled={busy || !base} data-testid="replace-key">
        {busy ? 'Replacing…' : 'Replace this browser’s key'}
      </button>
    </section>
  );
}
