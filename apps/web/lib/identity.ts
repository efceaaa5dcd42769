// Per-browser identity and owner links, kept in localStorage.
const USER_KEY = 'ppgn:userId';
const NAME_KEY = 'ppgn:name';
const ROOM_KEY = (id: string) => `ppgn:room:${id}`;

export interface RoomLinks {
  owner: string;
  editor: string;
  viewer: string;
}

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

/** A stable random id per browser (6–64 chars of [A-Za-z0-9_-]) so undo and presence survive reconnects. */
export function getUserId(): string {
  const s = storage();
  const existing = s?.getItem(USER_KEY);
  if (existing && /^[A-Za-z0-9_-]{6,64}$/.test(existing)) return existing;
  const id = randomId();
  s?.setItem(USER_KEY, id);
  return id;
}

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
