// HTTP calls to the engine. Its errors are { error: { code, message } }: surfaced as HttpError with
// the code (callers branch on `code`, never on the message text) and the message.
import { ErrorBody, codeForStatus, type ErrorCode, type ErrorReason } from '@ppgn/shared';
import { getCredential, nameOrDefault, setCredential } from './identity';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** the engine's error code; `unavailable` when the engine could not be reached */
    readonly code: ErrorCode = codeForStatus(status),
    /** its cause where one code has several (callers branch on this, never on the text) */
    readonly reason: ErrorReason | null = null,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The code and message of an error response (the engine's body, else from the status). */
export function readError(
  status: number,
  statusText: string,
  data: unknown,
): { code: ErrorCode; message: string; reason?: ErrorReason } {
  const body = ErrorBody.safeParse(data);
  if (body.success) return body.data.error;
  return { code: codeForStatus(status), message: statusText || 'request failed' };
}

/**
 * Requests carry this browser's credential (`Authorization: Bearer`) when it has one: the engine checks
 * roles and bans, and keeps stars, by the person it proves.
 */
export async function request<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const credential = getCredential();
  const headers: Record<string, string> = {
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(credential ? { authorization: `Bearer ${credential}` } : {}),
  };
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: Object.keys(headers).length ? headers : undefined,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch (err) {
    throw new HttpError(0, `the engine is unreachable (${(err as Error).message})`, 'unavailable');
  }
  const type = res.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const { code, message, reason } = readError(res.status, res.statusText, data);
    throw new HttpError(res.status, `${message} (HTTP ${res.status})`, code, reason ?? null);
  }
  return data as T;
}

/** Writes need a person: a browser that never joined a room becomes one (named as it would be in a room). */
export async function ensureIdentity(base: string): Promise<void> {
  if (getCredential()) return;
  const r = await request<{ credential: string }>(base, 'POST', '/people', { name: nameOrDefault() });
  setCredential(r.credential);
}

export type { CreatedRoom, PackInfo } from '@ppgn/shared';

export type { GalleryItem, GalleryItemFull, Lineage } from '@ppgn/shared';

export interface GalleryFilters {
  class?: string;
  keyword?: string;
  author?: string;
  pack?: string;
  starred?: boolean;
}

export function galleryQuery(f: GalleryFilters & { cursor?: string | null; limit?: number }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const galleryImage = (base: string, id: string) => `${base}/gallery/${encodeURIComponent(id)}/image.png`;
export const galleryContextImage = (base: string, id: string) =>
  `${base}/gallery/${encodeURIComponent(id)}/context.png`;

/** "/room/abc?t=tok" → { id, token } (also accepts full URLs). */
export function parseRoomLink(text: string): { id: string; token: string } | null {
  const s = text.trim();
  if (!s) return null;
  let url: URL;
  try {
    url = new URL(s, 'http://x.invalid');
  } catch {
    return null;
  }
  const m = url.pathname.match(/\/room\/([A-Za-z0-9_-]{1,64})\/?$/);
  const token = url.searchParams.get('t');
  if (!m || !token) return null;
  return { id: m[1]!, token };
}
