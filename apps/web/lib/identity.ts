import { CREDENTIAL_PATTERN } from '@ppgn/shared';
// Per-browser identity and owner links, kept in localStorage.
/** the credential the engine minted for this browser (who you are in rooms; never chosen here) */
const CREDENTIAL_KEY = 'ppgn:credential';
/** the old client-chosen id: no longer used, removed when seen */
const OLD_USER_KEY = 'ppgn:userId';
const NAME_KEY = 'ppgn:name';
const ROOM_KEY = (id: string) => `ppgn:room:${id}`;

export type { RoomLinks } from '@ppgn/shared';
import type { RoomLinks } from '@ppgn/shared';

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

function randomId(n = 16): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** The credential the engine minted for this browser at its first join, or null before that. */
export function getCredential(): string | null {
  const s = storage();
  s?.removeItem(OLD_USER_KEY);
  const c = s?.getItem(CREDENTIAL_KEY);
  return c && CREDENTIAL_PATTERN.test(c) ? c : null;
}

export function setCredential(credential: string): void {
  storage()?.setItem(CREDENTIAL_KEY, credential);
}

/** The RoomClient's view of the stored credential. */
export const browserIdentity = { get: getCredential, set: setCredential };

export function getName(): string | null {
  const n = storage()?.getItem(NAME_KEY)?.trim();
  return n ? n.slice(0, 40) : null;
}

export function setName(name: string): void {
  storage()?.setItem(NAME_KEY, name.trim().slice(0, 40));
}

export function defaultName(): string {
  return `Guest ${100 + Math.floor(Math.random() * 900)}`;
}

/** The name to use for authoring HTTP calls (remixes, mixes); the room page still asks if none was chosen. */
export function nameOrDefault(): string {
  return getName() ?? defaultName();
}

/** Owners only receive the room's tokens at creation: keep them so the room page can share links. */
export function rememberRoom(id: string, links: RoomLinks): void {
  storage()?.setItem(ROOM_KEY(id), JSON.stringify(links));
}

export function rememberedRoom(id: string): RoomLinks | null {
  const raw = storage()?.getItem(ROOM_KEY(id));
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as RoomLinks;
    return typeof v.owner === 'string' && typeof v.editor === 'string' && typeof v.viewer === 'string' ? v : null;
  } catch {
    return null;
  }
}

export { randomId };
