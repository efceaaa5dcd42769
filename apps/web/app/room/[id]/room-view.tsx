'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import { fileToPngBase64 } from '../../../lib/image';
import { useRouter } from 'next/navigation';
import type { AdminAction, ErrorCode, ErrorReason, IntentInput } from '@ppgn/shared';
import { HttpError, request, type CreatedRoom } from '../../../lib/api';
import { browserIdentity, defaultName, getName, rememberRoom, setName } from '../../../lib/identity';
import { modeProblems, packConditions } from '../../../lib/pack';
import { useRoom } from '../../../lib/use-room';
import type { RoomView as RoomViewState, SendOptions } from '../../../lib/room-client';
import { useEngineBase, useToast } from '../../../components/providers';
import { NameDialog } from '../../../components/name-dialog';
import { ConditionPanel } from '../../../components/room/condition-panel';
import { ParamsPanel } from '../../../components/room/params-panel';
import { MaskToolbar, Stage, type MaskToolState } from '../../../components/room/stage';
import { ScoreChart } from '../../../components/room/score-chart';
import { Activity, Presence } from '../../../components/room/people';
import { Timeline } from '../../../components/room/timeline';
import { ShareLinks } from '../../../components/room/share';
import { SaveArea } from '../../../components/room/save-area';

export function RoomView({ roomId, token }: { roomId: string; token: string }) {
  const base = useEngineBase();
  const toast = useToast();
  const router = useRouter();
  const [name, setNameState] = useState<string | null>(null);
  const [asking, setAsking] = useState<string | null>(null);
  useEffect(() => {
    const n = getName();
    if (n) setNameState(n);
    else setAsking(defaultName());
  }, []);
  // a first visit checks the link before asking for a name: a wrong link says so at once
  const [linkProblem, setLinkProblem] = useState<{
    code: ErrorCode;
    message: string;
    reason: ErrorReason | null;
  } | null>(null);
  useEffect(() => {
    if (asking === null || !base) return;
    let live = true;
    request(base, 'GET', `/rooms/${encodeURIComponent(roomId)}?token=${encodeURIComponent(token)}`).catch((err) => {
      if (live && err instanceof HttpError && (err.code === 'not_found' || err.code === 'forbidden'))
        setLinkProblem({ code: err.code, message: err.message, reason: err.reason });
    });
    return () => {
      live = false;
    };
  }, [asking, base, roomId, token]);

  const onNotice = useCallback((n: { kind: 'error' | 'info'; message: string }) => toast(n.kind, n.message), [toast]);
  const opts = useMemo(
    () => (base && name ? { base, roomId, token, name, identity: browserIdentity, onNotice } : null),
    [base, roomId, token, name, onNotice],
  );
  const { view, client } = useRoom(opts);
  const { state, role } = view;

  const pack = useMemo(() => packConditions(view.conditions), [view.conditions]);

  const previews = useMemo(
    () =>
      base && view.packId
        ? {
            classThumb: (c: string, l: string) =>
              `${base}/packs/${encodeURIComponent(view.packId!)}/thumbs/${encodeURIComponent(c)}/${encodeURIComponent(l)}.png`,
            unit: (c: string, layer: string, ch: number) =>
              `${base}/packs/${encodeURIComponent(view.packId!)}/units/${encodeURIComponent(c)}/${encodeURIComponent(layer)}/${ch}.png`,
            lexicon: (c: string) =>
              `${base}/packs/${encodeURIComponent(view.packId!)}/lexicon/${encodeURIComponent(c)}.json`,
          }
        : null,
    [base, view.packId],
  );
  const send = useCallback(
    (i: IntentInput, o?: SendOptions) =>
      client ? client.send(i, o) : Promise.resolve({ ok: false as const, error: 'not connected' }),
    [client],
  );
  const admin = useCallback((a: AdminAction) => void client?.admin(a), [client]);
  const canSteer = role !== null && role !== 'viewer' && !!state && (!state.locked || role === 'owner');

  const [tool, setTool] = useState<MaskToolState>({ mode: null, radius: 0.08, showMask: true });
  const [followId, setFollowId] = useState<string | null>(null);
  const followed = followId ? (view.members.find((m) => m.userId === followId) ?? null) : null;
  const onHistoryError = useCallback((m: string) => toast('error', m), [toast]);
  const follow = (id: string | null) => {
    setFollowId(id);
    client?.presence({ following: id });
  };
  useEffect(() => {
    if (followId && !view.members.some((m) => m.userId === followId)) setFollowId(null);
  }, [followId, view.members]);

  // Ctrl/Cmd-Z undo, Shift-Ctrl/Cmd-Z (or Ctrl-Y) redo — not while typing in a text field
  useEffect(() => {
    if (!canSteer) return;
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (
        t &&
        (t.isContentEditable ||
          t.tagName === 'TEXTAREA' ||
          (t.tagName === 'INPUT' && !['range', 'checkbox', 'button'].includes((t as HTMLInputElement).type)))
      )
        return;
      const k = e.key.toLowerCase();
      if (k === 'z' || k === 'y') {
        e.preventDefault();
        void send({ type: k === 'y' || e.shiftKey ? 'redo' : 'undo' });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [canSteer, send]);

  const [busy, setBusy] = useState<string | null>(null);
  const startFromImage = async (file: File) => {
    if (!base || !name) return;
    setBusy('image');
    try {
      const { data } = await fileToPngBase64(file, 256);
      await request(base, 'POST', `/rooms/${roomId}/image`, { token, author: name, imagePng: data });
      toast('ok', 'The chain now starts from your picture');
    } catch (err) {
      toast('error', `Could not start from that image: ${(err as Error).message}`);
    }
    setBusy(null);
  };
  const fork = async (step?: number) => {
    if (!base || !name) return;
    setBusy('fork');
    try {
      const r = await request<CreatedRoom>(base, 'POST', `/rooms/${roomId}/fork`, {
        token,
        author: name,
        ...(step !== undefined ? { step } : {}),
      });
      rememberRoom(r.id, r.links);
      toast('ok', 'Forked: opening your new room');
      router.push(r.links.owner);
    } catch (err) {
      toast('error', `Could not fork: ${(err as Error).message}`);
    }
    setBusy(null);
  };

  if (linkProblem)
    return (
      <BadLink
        view={{
          ...view,
          status: 'failed',
          errorCode: linkProblem.code,
          errorReason: linkProblem.reason,
          error: linkProblem.message,
        }}
      />
    );

  if (asking !== null)
    return (
      <NameDialog
        initial={asking}
        onDone={(n) => {
          setName(n);
          setNameState(n);
          setAsking(null);
        }}
      />
    );

  if (view.status === 'failed' || view.status === 'kicked') return <BadLink view={view} />;

  const me = view.members.find((m) => m.userId === view.userId);
  const running = state?.running ?? false;
  const hasFrames = view.frame !== null;

  return (
    <div className="room" data-testid="room" data-role={role ?? ''} data-version={state?.version ?? ''}>
      {view.status === 'reconnecting' && (
        <div className="banner" role="status" data-testid="reconnect-banner">
          Connection to the engine lost — reconnecting… Your changes will sync when it is back.
        </div>
      )}
      <header className="room-head">
        <div className="room-title">
          <h1 data-testid="room-name">{state?.name ?? 'Joining…'}</h1>
          <span className="badges">
            {role && (
              <span className={`role role-${role}`} data-testid="my-role">
                {role}
              </span>
            )}
            {state?.locked && (
              <span className="badge warn" title="Only the owner can steer">
                locked
              </span>
            )}
            <span
              className={`badge ${view.status === 'reconnecting' ? 'warn' : running ? 'live' : ''}`}
              data-testid="run-state"
            >
              {view.status === 'connecting'
                ? 'connecting'
                : view.status === 'reconnecting'
                  ? `offline · last step ${view.frame?.step ?? '…'}`
                  : running
                    ? `live · step ${view.frame?.step ?? '…'}`
                    : `paused${view.frame?.step != null ? ` · step ${view.frame.step}` : ''}`}
            </span>
            {view.frame?.acceptRate !== undefined &&
              (state?.params.mode === 'mala' || state?.params.mode === 'hmc') && (
                <span
                  className="badge"
                  data-testid="accept-rate"
                  title="Metropolis–Hastings: the share of proposals accepted so far (about 0.5–0.8 mixes well; lower τ if it is near 0)"
                >
                  accepted {Math.round(view.frame.acceptRate * 100)} %
                </span>
              )}
          </span>
        </div>
        <div className="room-actions">
          {role === 'owner' && state && (
            <label className="inline switch-label" title="When locked, only the owner can steer">
              <span className="switch">
                <input
                  type="checkbox"
                  checked={state.locked}
                  aria-label="Lock the room"
                  onChange={(e) => void send({ type: 'room.lock', locked: e.target.checked })}
                />
                <span aria-hidden className="track" />
              </span>
              <span className="small">Lock</span>
            </label>
          )}
          <SaveArea
            base={base}
            roomId={roomId}
            token={token}
            author={name}
            canSave={hasFrames}
            viewer={role === 'viewer'}
          />
        </div>
      </header>

      <div className="room-grid">
        <div className="stage-col">
          <Stage
            frame={view.frame}
            strokes={state?.strokes ?? []}
            members={view.members}
            me={view.userId}
            followId={followId}
            canPaint={canSteer}
            tool={tool}
            send={send}
            onCursor={(c, painting) =>
              client?.presence(painting === undefined ? { cursor: c } : { cursor: c, painting })
            }
            label={`Live frame of ${state?.name ?? 'the room'}`}
          />
          {canSteer && (
            <div className="toolbar transport" role="toolbar" aria-label="Chain" data-testid="transport">
              <button
                type="button"
                className="primary"
                onClick={() => void send({ type: 'run.set', running: !running })}
                data-testid="play-pause"
              >
                {running ? 'Pause' : 'Play'}
              </button>
              <button
                type="button"
                onClick={() => void send({ type: 'chain.step', steps: 1 })}
                disabled={running}
                title="Advance one step"
              >
                Step
              </button>
              <button
                type="button"
                onClick={() => void send({ type: 'chain.reset' })}
                title="Restart the chain from its seed"
              >
                Reset
              </button>
              <button
                type="button"
                onClick={() => void send({ type: 'chain.reset', seed: Math.floor(Math.random() * 2 ** 31) })}
                title="Restart from a new random seed"
              >
                New seed
              </button>
              <span className="sep" aria-hidden />
              <button
                type="button"
                onClick={() => void send({ type: 'undo' })}
                title="Undo your last change (Ctrl/⌘-Z)"
              >
                Undo
              </button>
              <button type="button" onClick={() => void send({ type: 'redo' })} title="Redo (Shift-Ctrl/⌘-Z)">
                Redo
              </button>
              <span className="sep" aria-hidden />
              <button
                type="button"
                onClick={() => void fork()}
                disabled={busy === 'fork'}
                title="Copy this room into a new one you own"
              >
                Fork
              </button>
              <label className="button" title="Encode a picture (h₀ = E(x)) and continue the chain from there">
                {busy === 'image' ? 'Encoding…' : 'From image…'}
                <input
                  type="file"
                  accept="image/*"
                  className="visually-hidden"
                  data-testid="start-image"
                  disabled={busy === 'image'}
                  onChange={(e) => {
                    const f = e.target.files?.[0];
                    e.target.value = '';
                    if (f) void startFromImage(f);
                  }}
                />
              </label>
            </div>
          )}
          <MaskToolbar
            tool={tool}
            setTool={setTool}
            canSteer={canSteer}
            strokes={state?.strokes.length ?? 0}
            hasContext={!!state?.context}
            send={send}
          />
          {role === 'viewer' && (
            <p className="muted small" data-testid="viewer-note">
              You are watching: steering is up to the editors.
            </p>
          )}
          {state?.locked && role === 'editor' && (
            <p className="muted small">The owner locked the room: steering is paused for editors.</p>
          )}
          <ScoreChart
            points={view.scores}
            conditions={state?.conditions.filter((c) => c.enabled).length ?? 0}
            running={running}
          />
          {base && role && (
            <Timeline
              base={base}
              roomId={roomId}
              token={token}
              canFork
              onFork={(s) => void fork(s)}
              onError={onHistoryError}
              follow={followed ? { name: followed.name, viewing: followed.viewing } : null}
              onViewing={(step) => client?.presence({ viewing: step })}
            />
          )}
        </div>
        <aside className="side">
          {state ? (
            <>
              <ConditionPanel
                conditions={state.conditions}
                pack={pack}
                canSteer={canSteer}
                send={send}
                scores={view.frame}
                members={view.members}
                previews={previews}
              />
              <ParamsPanel
                params={state.params}
                effective={state.effective}
                overrides={state.overrides}
                canSteer={canSteer}
                send={send}
                modeProblems={state.effective?.unavailable ?? modeProblems(state, pack)}
              />
            </>
          ) : (
            <div className="panel skeleton" aria-busy="true" />
          )}
          <Presence
            members={view.members}
            me={view.userId}
            myRole={role}
            followId={followId}
            setFollow={follow}
            admin={admin}
          />
          {role === 'owner' && <ShareLinks roomId={roomId} base={base} token={token} />}
          <Activity items={view.activity} />
          {me && (
            <p className="muted small">
              You appear as <span style={{ color: me.color }}>{me.name}</span>.
            </p>
          )}
        </aside>
      </div>
    </div>
  );
}

/** The link will not work (no such room, not a valid link, removed): say so, offer the way home, retry nothing. */
function BadLink({ view }: { view: RoomViewState }) {
  const removed = view.status === 'kicked' || view.errorReason === 'removed';
  const title = removed
    ? 'You were removed from this room'
    : view.errorCode === 'not_found'
      ? 'This room does not exist'
      : view.errorReason === 'protocol'
        ? 'This page is out of date'
        : 'This room link is not valid';
  const hint = removed
    ? 'The owner removed you; this link no longer lets you in.'
    : view.errorCode === 'not_found'
      ? 'It may have been mistyped, or the room is gone. Ask whoever shared it for a fresh link.'
      : view.errorReason === 'protocol'
        ? 'The studio was updated since this page was loaded: reload it.'
        : 'Ask whoever shared it for the full, current link.';
  return (
    <div className="narrow card" role="alert" data-testid="room-failed" data-code={view.errorCode ?? ''}>
      <h1 data-testid="bad-link">{title}</h1>
      <p className="muted">{hint}</p>
      {view.error && <p className="error small">{view.error}</p>}
      <a href="/" className="button primary" data-testid="go-home">
        Back to the studio
      </a>
    </div>
  );
}
