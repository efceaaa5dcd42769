'use client';

import type { ActivityItem, AdminAction, Member, Role } from '@ppgn/shared';

export function Presence({
  members,
  me,
  myRole,
  followId,
  setFollow,
  admin,
}: {
  members: Member[];
  me: string | null;
  myRole: Role | null;
  followId: string | null;
  setFollow: (userId: string | null) => void;
  admin: (a: AdminAction) => void;
}) {
  const owner = myRole === 'owner';
  return (
    <section className="panel" aria-labelledby="people-title" data-testid="presence">
      <header className="panel-head">
        <h2 id="people-title">People</h2>
        <span className="muted small">{members.length} here</span>
      </header>
      <ul className="people">
        {members.map((m) => {
          const isMe = m.userId === me;
          const following = members.find((x) => x.userId === m.following);
          return (
            <li key={m.userId} data-testid="member" data-role={m.role} data-away={m.away ? 'true' : undefined}>
              <span className="avatar" style={{ background: m.color }} aria-hidden>
                {m.name.slice(0, 1).toUpperCase()}
              </span>
              <span className="who">
                <span className="name">
                  {m.name}
                  {isMe && <span className="muted"> (you)</span>}
                  {m.away && (
                    <span className="muted" title="Their connection dropped; they keep their place for a moment">
                      {' '}
                      (reconnecting…)
                    </span>
                  )}
                </span>
                <span className="small muted">
                  {m.painting ? 'painting · ' : ''}
                  {following ? `following ${following.name}` : m.role}
                </span>
              </span>
              {!isMe && (
                <button
                  type="button"
                  className="small-btn"
                  aria-pressed={followId === m.userId}
                  onClick={() => setFollow(followId === m.userId ? null : m.userId)}
                  title="Follow: highlight their cursor and keep it in view"
                >
                  {followId === m.userId ? 'Following' : 'Follow'}
                </button>
              )}
              {owner && !isMe && m.role !== 'owner' && (
                <>
                  <select
                    aria-label={`Role of ${m.name}`}
                    value={m.role}
                    onChange={(e) => admin({ type: 'role', userId: m.userId, role: e.target.value as Role })}
                  >
                    <option value="editor">editor</option>
                    <option value="viewer">viewer</option>
                  </select>
                  <button
                    type="button"
                    className="small-btn danger"
                    onClick={() => admin({ type: 'kick', userId: m.userId })}
                    aria-label={`Remove ${m.name} from the room`}
                  >
                    Kick
                  </button>
                </>
              )}
              {(isMe || m.role === 'owner' || !owner) && <span className={`role role-${m.role}`}>{m.role}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

export function Activity({ items }: { items: ActivityItem[] }) {
  const now = Date.now();
  const shown = items.slice(-60).reverse();
  return (
    <section className="panel" aria-labelledby="activity-title" data-testid="activity">
      <header className="panel-head">
        <h2 id="activity-title">Activity</h2>
      </header>
      {shown.length === 0 ? (
        <p className="muted small">Nothing yet.</p>
      ) : (
        <ol className="activity" aria-live="polite">
          {shown.map((a) => (
            <li key={`${a.version}-${a.at}`}>
              <span className="name">{a.authorName}</span> {a.summary}
              <time className="muted small" dateTime={new Date(a.at).toISOString()}>
                {' '}
                {ago(a.at, now)}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
