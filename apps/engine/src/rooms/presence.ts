// Who is in a room right now: one member per person however many connections they have, their cursor,
// whether they paint, whom they follow. A dropped connection keeps its member, shown as away, for a grace
// period, so a reconnect resumes their place; a person who closed the room leaves at once.
import type { Member, PresenceUpdate, Role } from '@ppgn/shared';

interface LiveMember extends Member {
  /** ids of this person's connected sockets in the room */
  sockets: Set<string>;
  /** their last connection dropped: they are removed when this fires, unless they come back */
  leaveTimer: ReturnType<typeof setTimeout> | null;
}

const COLORS = ['#ff6b6b', '#ffa94d', '#ffd43b', '#69db7c', '#38d9a9', '#4dabf7', '#748ffc', '#da77f2', '#f783ac'];

export class Presence {
  private readonly members = new Map<string, LiveMember>();

  constructor(
    /** someone whose connection dropped stays a member this long */
    private readonly graceMs: number,
    /** the members changed (`presenceOnly`: only cursors or names moved, best-effort delivery) */
    private readonly changed: (presenceOnly: boolean) => void,
  ) {}

  /** A connection (`socketId`) of a person joins, or rejoins. */
  join(userId: string, name: string, role: Role, socketId: string): Member {
    let m = this.members.get(userId);
    if (m) {
      if (m.leaveTimer) clearTimeout(m.leaveTimer);
      m.leaveTimer = null;
      m.sockets.add(socketId);
      m.name = name;
      m.role = role;
    } else {
      m = {
        userId,
        name,
        role,
        color: COLORS[this.members.size % COLORS.length]!,
        cursor: null,
        painting: false,
        following: null,
        viewing: null,
        sockets: new Set([socketId]),
        leaveTimer: null,
      };
      this.members.set(userId, m);
    }
    this.changed(false);
    return m;
  }

  /** A connection closed; `left`: they meant it (their last connection removes them at once). */
  disconnect(userId: string, socketId: string, left: boolean): void {
    const m = this.members.get(userId);
    if (!m || !m.sockets.delete(socketId)) return;
    if (m.sockets.size === 0) {
      if (left || this.graceMs <= 0) this.members.delete(userId);
      else {
        m.cursor = null;
        m.painting = false;
        m.leaveTimer = setTimeout(() => {
          m.leaveTimer = null;
          if (this.members.get(userId) !== m || m.sockets.size > 0) return;
          this.members.delete(userId);
          this.changed(false);
        }, this.graceMs);
        m.leaveTimer.unref?.();
      }
    }
    this.changed(false);
  }

  update(userId: string, p: PresenceUpdate): void {
    const m = this.members.get(userId);
    if (!m) return;
    if (p.cursor !== undefined) m.cursor = p.cursor;
    if (p.painting !== undefined) m.painting = p.painting;
    if (p.following !== undefined) m.following = p.following && this.members.has(p.following) ? p.following : null;
    if (p.viewing !== undefined) m.viewing = p.viewing;
    if (p.name !== undefined) m.name = p.name;
    this.changed(p.name === undefined);
  }

  /** The owner removed them (announced by the caller, after it has told them). */
  remove(userId: string): void {
    const m = this.members.get(userId);
    if (m?.leaveTimer) clearTimeout(m.leaveTimer);
    this.members.delete(userId);
  }

  /** The owner changed their role (announced by the caller). */
  setRole(userId: string, role: Role): void {
    const m = this.members.get(userId);
    if (m) m.role = role;
  }

  /** Tell everyone who is here now. */
  announce(): void {
    this.changed(false);
  }

  /** The people here, with the role each has now. */
  *people(): Iterable<{ userId: string; role: Role }> {
    for (const m of this.members.values()) yield m;
  }

  /** Someone has a connection open. */
  connected(): boolean {
    for (const m of this.members.values()) if (m.sockets.size > 0) return true;
    return false;
  }

  nameOf(userId: string): string | undefined {
    return this.members.get(userId)?.name;
  }

  list(): Member[] {
    return [...this.members.values()].map(({ sockets, leaveTimer: _t, ...m }) =>
      sockets.size === 0 ? { ...m, away: true } : m,
    );
  }

  /** The room leaves this engine: nobody's leave timer fires after that. */
  clear(): void {
    for (const m of this.members.values()) if (m.leaveTimer) clearTimeout(m.leaveTimer);
  }
}
