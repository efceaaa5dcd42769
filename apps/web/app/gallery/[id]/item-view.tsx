'use client';

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import { ignoredByMode, type Tunable } from '@ppgn/shared';
import {
  HttpError,
  ensureIdentity,
  galleryContextImage,
  galleryImage,
  galleryQuery,
  request,
  type CreatedRoom,
  type GalleryItem,
  type GalleryItemFull,
  type Lineage,
} from '../../../lib/api';
import { nameOrDefault, rememberRoom, setCredential } from '../../../lib/identity';
import { useEngineBase, useToast } from '../../../components/providers';
import { describeCondition } from '../../../components/room/condition-panel';
import { JITTER_TIP, PARAM_INFO, fmt } from '../../../components/room/params-panel';
import { seenText } from '../../../lib/format';

export function ItemView({ id }: { id: string }) {
  const base = useEngineBase();
  const toast = useToast();
  const router = useRouter();
  const [item, setItem] = useState<GalleryItemFull | null>(null);
  const [lineage, setLineage] = useState<Lineage | null>(null);
  const [error, setError] = useState<{ message: string; notFound: boolean } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [starred, setStarred] = useState(false);

  useEffect(() => {
    if (!base) return;
    setItem(null);
    request<GalleryItemFull>(base, 'GET', `/gallery/${encodeURIComponent(id)}`).then(setItem, (e) =>
      setError({ message: (e as Error).message, notFound: e instanceof HttpError && e.code === 'not_found' }),
    );
    request<Lineage>(base, 'GET', `/gallery/${encodeURIComponent(id)}/lineage`).then(setLineage, () => {});
    // stars belong to the person (the engine's credential), not to this browser tab
    request<{ stars: number; starred: boolean }>(base, 'GET', `/gallery/${encodeURIComponent(id)}/star`).then(
      (r) => setStarred(r.starred),
      () => {},
    );
  }, [base, id]);

  const remix = async () => {
    if (!base) return;
    setBusy('remix');
    try {
      const r = await request<CreatedRoom>(base, 'POST', `/gallery/${encodeURIComponent(id)}/remix`, {
        author: nameOrDefault(),
      });
      rememberRoom(r.id, r.links); // the engine keeps the room's parent item
      router.push(r.links.owner);
    } catch (err) {
      toast('error', `Could not remix: ${(err as Error).message}`);
      setBusy(null);
    }
  };
  const star = async () => {
    if (!base || !item) return;
    try {
      const r = await request<{ stars: number; starred: boolean; credential?: string }>(
        base,
        'POST',
        `/gallery/${encodeURIComponent(id)}/star`,
        { starred: !starred },
      );
      if (r.credential) setCredential(r.credential); // a first visit: the engine made this browser a person
      setItem({ ...item, stars: r.stars });
      setStarred(r.starred);
    } catch (err) {
      toast('error', `Could not star: ${(err as Error).message}`);
    }
  };

  /** the person who published it gives it a better title */
  const rename = async () => {
    if (!item || !base) return;
    const title = window.prompt('A title for this picture', item.title)?.trim();
    if (!title || title === item.title) return;
    try {
      const r = await request<GalleryItem>(base, 'PATCH', `/gallery/${encodeURIComponent(id)}`, { title });
      setItem({ ...item, title: r.title });
    } catch (err) {
      toast('error', `Could not rename: ${(err as Error).message}`);
    }
  };

  if (error)
    return (
      <div className="narrow card" role="alert">
        <h1>{error.notFound ? 'Not found' : 'Could not load this item'}</h1>
        <p className="error">{error.message}</p>
        <a href="/gallery">Back to the gallery</a>
      </div>
    );
  if (!item || !base) return <p className="muted">Loading…</p>;

  const p = item.recipe.params;
  // the settings the chain ran with, as the panel showed them when the item was saved; older items and mixes
  // kept only the room's own values: those, less what their mode ignores (the engine's rule)
  const saved = item.recipe.settings;
  const shown: Partial<Record<Tunable, number>> = saved ? saved.values : p;
  const skipped: Partial<Record<Tunable, unknown>> = saved
    ? Object.fromEntries(saved.ignored.map((k) => [k, true]))
    : ignoredByMode(p.mode);
  return (
    <div className="item" data-testid="gallery-item-page">
      <p className="small">
        <a href="/gallery">← Gallery</a>
      </p>
      <div className="item-grid">
        <div>
          <img
            className="item-image pixel"
            src={galleryImage(base, id)}
            alt={item.title}
            width={512}
            height={512}
            data-testid="item-image"
          />
        </div>
        <div>
          <h1 style={{ marginTop: 0 }} data-testid="item-title">
            {item.title}
            {item.mine && (
              <button
                type="button"
                className="small"
                style={{ marginLeft: '0.6rem' }}
                onClick={() => void rename()}
                data-testid="rename-item"
              >
                Rename
              </button>
            )}
          </h1>
          <p className="muted">
            by {item.author} · {new Date(item.createdAt).toLocaleString()} · ★ {item.stars}
          </p>
          <div className="item-actions">
            <button
              type="button"
              className="primary"
              onClick={() => void remix()}
              disabled={busy === 'remix'}
              data-testid="remix"
            >
              {busy === 'remix' ? 'Opening…' : 'Remix in a new room'}
            </button>
            <button type="button" onClick={() => void star()} aria-pressed={starred}>
              {starred ? '★ Starred' : '☆ Star'}
            </button>
            <a
              className="button"
              href={galleryImage(base, id)}
              download={`${item.title.replace(/[^\w.-]+/g, '_')}.png`}
            >
              Download PNG
            </a>
          </div>
          <section className="panel recipe" aria-labelledby="recipe-title" data-testid="recipe">
            <header className="panel-head">
              <h2 id="recipe-title">Recipe</h2>
            </header>
            <dl className="facts compact">
              <dt>Pack</dt>
              <dd>
                {item.packId}
                {item.recipe.packVersion ? ` ${item.recipe.packVersion}` : ''}
              </dd>
              {item.seen && (
                <>
                  <dt title="What the picture looks like to the pack's classifier when it was saved: it can differ from what the chain was steered to">
                    Looks like
                  </dt>
                  <dd data-testid="recipe-seen">{seenText(item.seen)}</dd>
                </>
              )}
              <dt>Seed</dt>
              <dd className="num">{item.seed}</dd>
              <dt>Step</dt>
              <dd className="num" data-testid="recipe-step">
                {item.mixParentId ? 'a mix of two codes (no chain step)' : item.step}
              </dd>
              <dt>Conditions</dt>
              <dd>
                {item.recipe.conditions.length === 0 ? (
                  'none (unconditional)'
                ) : (
                  <ul>
                    {item.recipe.conditions.map((c) => (
                      <li key={c.id}>
                        {c.target.kind} {describeCondition(c)} · weight {c.weight}
                        {c.enabled ? '' : ' (off)'}
                      </li>
                    ))}
                  </ul>
                )}
              </dd>
              <dt>Mode</dt>
              <dd>{p.mode}</dd>
              {(Object.keys(PARAM_INFO) as (keyof typeof PARAM_INFO)[])
                .filter((k) => shown[k] !== undefined && !(k in skipped))
                .map((k) => (
                  <div className="contents" key={k}>
                    <dt title={PARAM_INFO[k].tip}>{PARAM_INFO[k].label}</dt>
                    <dd className="num">{fmt(shown[k]!)}</dd>
                  </div>
                ))}
              {shown.jitter !== undefined && !('jitter' in skipped) && (
                <>
                  <dt title={JITTER_TIP}>view shifts</dt>
                  <dd className="num" data-testid="recipe-jitter">
                    {shown.jitter ? `±${shown.jitter} px` : 'off'}
                  </dd>
                </>
              )}
              <dt>Mask</dt>
              <dd data-testid="recipe-mask">
                {item.recipe.strokes.length === 0 && !item.recipe.context ? (
                  item.recipe.lostStrokes ? (
                    `${item.recipe.lostStrokes} stroke(s), not kept by older versions`
                  ) : (
                    'none'
                  )
                ) : (
                  <MaskPreview base={base} item={item} />
                )}
              </dd>
            </dl>
          </section>
          <MixPanel base={base} item={item} />
        </div>
      </div>
      {lineage && <LineageTree base={base} lineage={lineage} />}
    </div>
  );
}

/** The recipe's mask strokes over its inpainting context (what a remix starts with). */
function MaskPreview({ base, item }: { base: string; item: GalleryItemFull }) {
  const { strokes, context } = item.recipe;
  const n = strokes.length;
  return (
    <div className="mask-preview">
      <svg
        viewBox="0 0 1 1"
        width={96}
        height={96}
        role="img"
        aria-label={`mask: ${n} stroke${n === 1 ? '' : 's'}${context ? ' over the context frame' : ''}`}
      >
        {context ? (
          <image href={galleryContextImage(base, item.id)} x={0} y={0} width={1} height={1} className="pixel" />
        ) : (
          <rect width={1} height={1} fill="#222" />
        )}
        {strokes.map((s) => (
          <polyline
            key={s.id}
            points={s.points.map(([x, y]) => `${x},${y}`).join(' ')}
            fill="none"
            stroke={s.erase ? 'rgba(0,0,0,0.7)' : 'rgba(255,255,255,0.55)'}
            strokeWidth={s.radius * 2}
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        ))}
      </svg>
      <span className="small muted">
        {n} stroke{n === 1 ? '' : 's'}
        {context ? ` · context: frame ${context.step}` : ''}
      </span>
    </div>
  );
}

function MixPanel({ base, item }: { base: string; item: GalleryItem }) {
  const toast = useToast();
  const router = useRouter();
  const [others, setOthers] = useState<GalleryItem[] | null>(null);
  const [pick, setPick] = useState<string | null>(null);
  const [t, setT] = useState(0.5);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    request<{ items: GalleryItem[] }>(base, 'GET', `/gallery${galleryQuery({ pack: item.packId, limit: 30 })}`).then(
      (r) => setOthers(r.items.filter((i) => i.id !== item.id)),
      () => setOthers([]),
    );
  }, [base, item.id, item.packId]);
  const mix = async () => {
    if (!pick) return;
    setBusy(true);
    try {
      await ensureIdentity(base);
      const r = await request<GalleryItem>(base, 'POST', '/gallery/mix', { a: item.id, b: pick, t });
      router.push(`/gallery/${r.id}`);
    } catch (err) {
      toast('error', `Could not mix: ${(err as Error).message}`);
      setBusy(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="mix-title" style={{ marginTop: '0.9rem' }}>
      <header className="panel-head">
        <h2 id="mix-title">Mix with another item</h2>
      </header>
      {others === null && <p className="muted small">Loading…</p>}
      {others?.length === 0 && <p className="muted small">No other items of this pack to mix with yet.</p>}
      {others && others.length > 0 && (
        <>
          <ul className="mix-list" aria-label="Pick an item to mix with">
            {others.map((o) => (
              <li key={o.id}>
                <button
                  type="button"
                  aria-pressed={pick === o.id}
                  onClick={() => setPick(o.id)}
                  title={o.title}
                  aria-label={`Mix with ${o.title}`}
                >
                  <img className="pixel" src={galleryImage(base, o.id)} alt="" width={56} height={56} loading="lazy" />
                </button>
              </li>
            ))}
          </ul>
          <div className="param-row" style={{ gridTemplateColumns: '6rem 1fr 3rem' }}>
            <label htmlFor="mix-t">Blend t</label>
            <input
              id="mix-t"
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={t}
              onChange={(e) => setT(Number(e.target.value))}
              aria-valuetext={`${Math.round(t * 100)}% of the other item`}
            />
            <output className="num">{t.toFixed(2)}</output>
          </div>
          <button type="button" className="primary" disabled={!pick || busy} onClick={() => void mix()}>
            {busy ? 'Mixing…' : 'Mix codes'}
          </button>
        </>
      )}
    </section>
  );
}

/** Ancestors above (farthest at the top), the item, its children below; thumbnails joined by lines. */
function LineageTree({ base, lineage }: { base: string; lineage: Lineage }) {
  // layer by the longest path down to this item, so a parent always sits above its children
  const byId = new Map(lineage.ancestors.map((a) => [a.id, a]));
  const depth = new Map<string, number>([[lineage.item.id, 0]]);
  const parentsOf = (i: GalleryItem) => [i.parentId, i.mixParentId].filter((p): p is string => !!p && byId.has(p));
  for (let pass = 0; pass <= lineage.ancestors.length; pass++) {
    let changed = false;
    for (const [id, d] of [...depth]) {
      const node = id === lineage.item.id ? lineage.item : byId.get(id)!;
      for (const p of parentsOf(node)) {
        if ((depth.get(p) ?? -1) < d + 1 && d + 1 <= 8) {
          depth.set(p, d + 1);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  const maxDepth = Math.max(0, ...depth.values());
  const levels: GalleryItem[][] = [];
  for (let d = maxDepth; d >= 1; d--) {
    const row = lineage.ancestors.filter((a) => depth.get(a.id) === d);
    if (row.length) levels.push(row);
  }
  const rows: { items: GalleryItem[]; kind: 'ancestor' | 'current' | 'child' }[] = [
    ...levels.map((items) => ({ items, kind: 'ancestor' as const })),
    { items: [lineage.item], kind: 'current' },
    ...(lineage.children.length ? [{ items: lineage.children, kind: 'child' as const }] : []),
  ];
  const shown = new Set(rows.flatMap((r) => r.items.map((i) => i.id)));
  const edges = rows.flatMap((r) =>
    r.items.flatMap((i) =>
      (
        [
          [i.parentId, false],
          [i.mixParentId, true],
        ] as const
      )
        .filter((e): e is readonly [string, boolean] => !!e[0] && shown.has(e[0]))
        .map(([p, mix]) => ({ from: p, to: i.id, mix, skip: (depth.get(p) ?? 0) - (depth.get(i.id) ?? -1) > 1 })),
    ),
  );

  const box = useRef<HTMLDivElement>(null);
  const [paths, setPaths] = useState<{ d: string; mix: boolean }[]>([]);
  const measure = useCallback(() => {
    const el = box.current;
    if (!el) return;
    const origin = el.getBoundingClientRect();
    const pos = (id: string) => {
      const n = el.querySelector<HTMLElement>(`[data-node="${id}"]`);
      const img = n?.querySelector('img');
      if (!n || !img) return null;
      const r = n.getBoundingClientRect();
      const ri = img.getBoundingClientRect();
      return { x: ri.left - origin.left + ri.width / 2, top: ri.top - origin.top, bottom: r.bottom - origin.top + 2 };
    };
    setPaths(
      edges.flatMap(({ from, to, mix, skip }) => {
        const a = pos(from);
        const b = pos(to);
        if (!a || !b) return [];
        const my = (a.bottom + b.top) / 2;
        // an edge that skips a level bows out sideways so it does not hide behind the others
        if (skip) {
          const bow = Math.max(a.x, b.x) + 70;
          return [
            { d: `M${a.x + 10},${a.bottom - 40} C${bow},${a.bottom} ${bow},${b.top} ${b.x + 14},${b.top + 6}`, mix },
          ];
        }
        return [{ d: `M${a.x},${a.bottom} C${a.x},${my} ${b.x},${my} ${b.x},${b.top}`, mix }];
      }),
    );
  }, [JSON.stringify(edges)]);
  useLayoutEffect(() => {
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [measure]);

  return (
    <section className="panel" aria-labelledby="lineage-title" style={{ marginTop: '1.5rem' }} data-testid="lineage">
      <header className="panel-head">
        <h2 id="lineage-title">Lineage</h2>
        <span className="muted small">
          {lineage.ancestors.length} ancestor{lineage.ancestors.length === 1 ? '' : 's'} · {lineage.children.length}{' '}
          remix
          {lineage.children.length === 1 ? '' : 'es'} · dashed = mixed in
        </span>
      </header>
      <div className="lineage" ref={box}>
        <svg className="lineage-lines" aria-hidden>
          {paths.map((p, i) => (
            <path key={i} d={p.d} className={p.mix ? 'mix' : undefined} />
          ))}
        </svg>
        {rows.map((r, i) => (
          <ul
            key={i}
            className="lineage-row"
            aria-label={r.kind === 'ancestor' ? 'Ancestors' : r.kind === 'child' ? 'Remixes and mixes' : 'This item'}
            style={{ listStyle: 'none', padding: 0, margin: 0 }}
          >
            {r.items.map((it) => (
              <li key={it.id}>
                <a
                  href={`/gallery/${it.id}`}
                  className={`node ${r.kind === 'current' ? 'current' : ''}`}
                  data-node={it.id}
                  aria-current={r.kind === 'current' ? 'page' : undefined}
                >
                  <img
                    className="pixel"
                    src={galleryImage(base, it.id)}
                    alt=""
                    width={72}
                    height={72}
                    onLoad={measure}
                  />
                  <span>{it.title}</span>
                </a>
              </li>
            ))}
          </ul>
        ))}
        {rows.length === 1 && <p className="muted small">No ancestors or remixes yet.</p>}
      </div>
    </section>
  );
}
