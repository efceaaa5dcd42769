// Who may do what in a room: the one place the rules live. A link's token gives a role; the owner's grants
// (kept per person) outrank an editor or viewer link and survive replaced links; removed people get nothing.
// Sockets, HTTP routes and the cluster all ask this policy (through the gateway), never the token lists.
import type { Role } from '@ppgn/shared';
import { RoomError } from './errors';
import { randomBytes } from 'node:crypto';

/** a new link secret */
export const newToken = () => randomBytes(18).toString('base64url');

/** the secret of each link: whoever holds it joins with that role */
export interface RoomTokens {
  owner: string;
  editor: string;
  viewer: string;
}

export const LINK_INVALID = 'this link is not valid for the room';
export const REMOVED = 'you were removed from this room';

/** Who acts: the person (their credential's id), their name, and their role in the room now. */
export interface Actor {
  userId: string;
  name: string;
  role: Role;
}

/** What a person asks to do: change what the chain samples, save to the gallery, or manage people and links. */
export type RoomAction = 'steer' | 'save' | 'manage';

/**
 * Why `role` may not do `action` (null: it may). A locked room is steered by its owner only; the lock itself
 * (`room.lock`) is the owner's, like managing people.
 */
export function refusal(role: Role, action: RoomAction, locked = false): string | null {
  if (action === 'manage') return role === 'owner' ? null : 'only the owner can manage people';
  if (role === 'viewer')
    return action === 'save'
      ? 'viewers cannot save to the gallery; ask the owner for an editor link'
      : 'viewers cannot steer this room';
  if (action === 'steer' && locked && role !== 'owner') return 'the room is locked by its owner';
  return null;
}

/** `refusal` as a RoomError (`forbidden`). */
export function assertMay(role: Role, action: RoomAction, locked = false): void {
  const why = refusal(role, action, locked);
  if (why) throw new RoomError(why, 'forbidden');
}

/** A room's links, the owner's grants and removals. */
export class Access {
  private readonly grants: Record<string, Role>;
  private readonly removed: Set<string>;

  constructor(
    public tokens: RoomTokens,
    roles: Record<string, Role>,
    banned: Iterable<string>,
  ) {
    this.grants = { ...roles };
    this.removed = new Set(banned);
  }

  /** The role a link's token gives (null: not one of this room's links). */
  tokenRole(token: string): Role | null {
    if (token === this.tokens.owner) return 'owner';
    if (token === this.tokens.editor) return 'editor';
    if (token === this.tokens.viewer) return 'viewer';
    return null;
  }

  /**
   * The role of a person (the id their credential proves) holding a link's token: null when the token is not
   * the room's and they hold no grant, or the owner removed them. An owner's grant outranks an editor or
   * viewer link, and holds with a link the owner has since replaced (people in the room keep their place).
   */
  roleFor(token: string, personId: string | null): Role | null {
    if (personId !== null && this.removed.has(personId)) return null;
    const base = this.tokenRole(token);
    const grant = personId !== null ? this.grants[personId] : undefined;
    if (!base) return grant ?? null;
    if (base === 'owner') return 'owner';
    return grant ?? base;
  }

  /** `roleFor`, or the reason there is none (`forbidden`: the link is not the room's, or they were removed). */
  roleOf(token: string, personId: string | null): Role {
    const role = this.roleFor(token, personId);
    if (role) return role;
    if (!this.tokenRole(token)) throw new RoomError(LINK_INVALID, 'forbidden', 'link_invalid');
    throw new RoomError(REMOVED, 'forbidden', 'removed');
  }

  /** The link is the room's, or the person (when known) holds a grant there (checked before a person is minted). */
  admits(token: string, personId: string | null): boolean {
    return this.tokenRole(token) !== null || (personId !== null && this.roleFor(token, personId) !== null);
  }

  isRemoved(personId: string): boolean {
    return this.removed.has(personId);
  }

  grant(personId: string, role: Role): void {
    if (role === 'owner') throw new RoomError('ownership cannot be handed over; share the owner link instead');
    this.grants[personId] = role;
  }

  remove(personId: string): void {
    this.removed.add(personId);
  }

  /**
   * New editor and viewer links: the old ones admit no one new; `present` (the people in the room now) keep
   * their role as a grant to their person.
   */
  replaceLinks(present: Iterable<{ userId: string; role: Role }>): RoomTokens {
    for (const m of present)
      if (m.role !== 'owner' && !this.removed.has(m.userId) && this.grants[m.userId] === undefined)
        this.grants[m.userId] = m.role;
    this.tokens = { ...this.tokens, editor: newToken(), viewer: newToken() };
    return this.tokens;
  }

  /** what is stored: grants and removals as plain data */
  roles(): Record<string, Role> {
    return { ...this.grants };
  }

  banned(): string[] {
    return [...this.removed];
  }
}
