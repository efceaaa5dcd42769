'use client';

import { useEffect, useState } from 'react';
import { Health } from '@ppgn/shared';
import { engineUrl, type EngineLocation } from './engine';

type State =
  { kind: 'loading' } | { kind: 'ok'; health: Health; at: number } | { kind: 'error'; message: string; at: number };

const POLL_MS = 3000;

export function EngineStatus({ engine }: { engine: EngineLocation }) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    const url = `${engineUrl(engine, window.location)}/health`;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const res = await fetch(url, { cache: 'no-store' });
        const parsed = Health.safeParse(await res.json());
        if (!parsed.success) throw new Error('the engine answered with an unexpected status format');
        if (!cancelled) setState({ kind: 'ok', health: parsed.data, at: Date.now() });
      } catch (err) {
        if (!cancelled)
          setState({
            kind: 'error',
            message: `engine unreachable at ${url} (${(err as Error).message})`,
            at: Date.now(),
          });
      }
      if (!cancelled) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [engine]);

  return (
    <section
      className="card status"
      aria-labelledby="engine-status-title"
      aria-live="polite"
      data-testid="engine-status"
    >
      <h2 id="engine-status-title">Engine</h2>
      {state.kind === 'loading' && <p className="muted">Contacting the engine…</p>}
      {state.kind === 'error' && (
        <p className="error" role="alert" data-testid="engine-error">
          {state.message}
        </p>
      )}
      {state.kind === 'ok' && <HealthView health={state.health} />}
    </section>
  );
}

export function HealthView({ health }: { health: Health }) {
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd data-testid="engine-ok">
        <span className={health.ok ? 'dot ok' : 'dot bad'} aria-hidden /> {health.ok ? 'ready' : 'degraded'} · v
        {health.version}
      </dd>
      <dt>Backend</dt>
      <dd data-testid="engine-backend" title={health.backend.reason}>
        {health.backend.runtime ?? health.backend.name} ({health.backend.gpu ? 'GPU' : 'CPU'}) — {health.backend.reason}
      </dd>
      <dt>Model packs</dt>
      <dd data-testid="engine-packs">
        {health.packs.length === 0
          ? 'none loaded'
          : health.packs.map((p) => `${p.name} ${p.version} (${p.imageSize[0]}×${p.imageSize[1]})`).join(', ')}
      </dd>
      <dt>Database</dt>
      <dd data-testid="engine-db">
        {health.database.reachable ? 'reachable' : 'unreachable'}
        {health.database.embedded ? ' (embedded Postgres)' : ''}
      </dd>
      <dt>Rooms</dt>
      <dd data-testid="engine-rooms">
        {health.rooms.running} running · {health.rooms.total} kept
      </dd>
      {health.engine?.cluster && (
        <>
          <dt>Engines</dt>
          <dd
            data-testid="engine-cluster"
            title={health.engine.peers
              .map((p) => `${p.id}: ${p.rooms} rooms, load ${p.load.toFixed(2)}${p.draining ? ', draining' : ''}`)
              .join('\n')}
          >
            {health.engine.peers.length} in the cluster
            {health.engine.peers.some((p) => p.draining)
              ? ` (${health.engine.peers.filter((p) => p.draining).length} handing over)`
              : ''}{' '}
            · this page reached {health.engine.id}
          </dd>
        </>
      )}
      <dt>Gallery</dt>
      <dd data-testid="engine-gallery">
        <a href="/gallery">{health.gallery.items} saved</a>
      </dd>
    </dl>
  );
}
