'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { galleryImage, galleryQuery, request, type GalleryItem, type PackInfo } from '../../lib/api';
import { useEngineBase, useToast } from '../../components/providers';
import { seenText } from '../../lib/format';

interface Filters {
  class: string;
  keyword: string;
  author: string;
  pack: string;
  starred: boolean;
}

const PAGE = 24;

export function GalleryView({ initial }: { initial: Filters }) {
  const base = useEngineBase();
  const toast = useToast();
  const [filters, setFilters] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  const [items, setItems] = useState<GalleryItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [total, setTotal] = useState<number | null>(null);
  const [packs, setPacks] = useState<PackInfo[]>([]);
  const sentinel = useRef<HTMLDivElement>(null);
  const gen = useRef(0);

  useEffect(() => {
    if (base) request<PackInfo[]>(base, 'GET', '/packs').then(setPacks, () => {});
  }, [base]);

  const loadMore = useCallback(
    async (reset = false) => {
      if (!base || (loading && !reset) || (done && !reset)) return;
      const my = reset ? ++gen.current : gen.current;
      setLoading(true);
      try {
        const r = await request<{ items: GalleryItem[]; nextCursor: string | null; total?: number }>(
          base,
          'GET',
          `/gallery${galleryQuery({ ...applied, cursor: reset ? null : cursor, limit: PAGE })}`,
        );
        if (my !== gen.current) return;
        setItems((cur) => (reset ? r.items : [...cur, ...r.items.filter((i) => !cur.some((c) => c.id === i.id))]));
        if (r.total !== undefined) setTotal(r.total);
        setCursor(r.nextCursor);
        setDone(r.nextCursor === null);
      } catch (err) {
        toast('error', `Gallery: ${(err as Error).message}`);
        setDone(true);
      } finally {
        if (my === gen.current) setLoading(false);
      }
    },
    [base, applied, cursor, done, loading, toast],
  );

  // new filters: start over
  useEffect(() => {
    if (!base) return;
    setItems([]);
    setCursor(null);
    setDone(false);
    void loadMore(true);
    const q = galleryQuery({ ...applied, starred: applied.starred || undefined });
    window.history.replaceState(null, '', `/gallery${q.replace('starred=true', 'starred=1')}`);
  }, [base, applied]);

  // infinite scroll
  useEffect(() => {
    const el = sentinel.current;
    if (!el || done) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void loadMore();
      },
      { rootMargin: '400px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [loadMore, done]);

  const classes = [
    ...new Set(packs.flatMap((p) => (p.conditionSpecs ?? []).flatMap((c) => (c.kind === 'classes' ? c.labels : [])))),
  ];
  const vocab = [
    ...new Set(
      packs.flatMap((p) => (p.conditionSpecs ?? []).flatMap((c) => (c.kind === 'keywords' ? c.vocabulary : []))),
    ),
  ];

  return (
    <div className="gallery" data-testid="gallery">
      <h1>
        Gallery{' '}
        {total !== null && (
          <span className="muted small" data-testid="gallery-total">
            {total} saved
          </span>
        )}
      </h1>
      <form
        className="gallery-filters"
        aria-label="Filter the gallery"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        <label>
          <span className="small muted">Class</span>
          <input
            list="gallery-classes"
            value={filters.class}
            onChange={(e) => setFilters({ ...filters, class: e.target.value })}
            placeholder="any"
          />
          <datalist id="gallery-classes">
            {classes.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </label>
        <label>
          <span className="small muted">Keyword</span>
          <input
            list="gallery-keywords"
            value={filters.keyword}
            onChange={(e) => setFilters({ ...filters, keyword: e.target.value })}
            placeholder="any"
          />
          <datalist id="gallery-keywords">
            {vocab.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </label>
        <label>
          <span className="small muted">Author</span>
          <input
            value={filters.author}
            onChange={(e) => setFilters({ ...filters, author: e.target.value })}
            placeholder="anyone"
          />
        </label>
        <label>
          <span className="small muted">Pack</span>
          <select value={filters.pack} onChange={(e) => setFilters({ ...filters, pack: e.target.value })}>
            <option value="">all packs</option>
            {packs.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={filters.starred}
            onChange={(e) => setFilters({ ...filters, starred: e.target.checked })}
          />
          <span>Starred only</span>
        </label>
        <div style={{ display: 'flex', gap: '0.5rem' }}>
          <button type="submit" className="primary">
            Filter
          </button>
          <button
            type="button"
            onClick={() => {
              const none = { class: '', keyword: '', author: '', pack: '', starred: false };
              setFilters(none);
              setApplied(none);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {items.length === 0 && !loading && done && <p className="muted">No items match these filters yet.</p>}
      <ul className="gallery-grid" aria-busy={loading}>
        {base &&
          items.map((it) => (
            <li key={it.id}>
              <a className="tile" href={`/gallery/${it.id}`} data-testid="gallery-item" data-id={it.id}>
                <img
                  className="pixel"
                  src={galleryImage(base, it.id)}
                  alt={it.title}
                  width={170}
                  height={170}
                  loading="lazy"
                />
                <span className="tile-meta">
                  <span className="tile-title">{it.title}</span>
                  <span className="small muted">
                    {it.author}
                    {/* what the picture shows (measured when saved), else what it was steered to */}
                    {it.seen?.[0] ? (
                      <span title={`looks like: ${seenText(it.seen)}`} data-testid="tile-seen">
                        {` · looks like ${it.seen[0].label}`}
                      </span>
                    ) : it.classLabel ? (
                      ` · ${it.classLabel}`
                    ) : (
                      ''
                    )}
                    {it.stars > 0 ? ` · ★ ${it.stars}` : ''}
                  </span>
                </span>
              </a>
            </li>
          ))}
      </ul>
      <div ref={sentinel} className="sentinel" aria-hidden />
      {loading && <p className="muted small">Loading…</p>}
      {!done && !loading && items.length > 0 && (
        <button type="button" onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </div>
  );
}
