// HTTP calls to the engine, with its JSON error messages surfaced as Error messages.
import type { RoomLinks } from './identity';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function request<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : undefined,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch (err) {
    throw new HttpError(0, `the engine is unreachable (${(err as Error).message})`);
  }
  const type = res.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const msg = data && typeof data === 'object' && 'error' in data ? String((data as { error: unknown }).error) : res.statusText;
    throw new HttpError(res.status, `${msg || 'request failed'} (HTTP ${res.status})`);
  }
  return data as T;
}

export interface PackInfo {
  id: string;
  name: string;
  version: string;
  imageSize: [number, number, number];
  codeSize: number;
  description?: string;
  conditions: { id: string; kind: string; count: number }[];
  conditionSpecs?: (
    | { id: string; kind: 'classes'; labels: string[] }
    | { id: string; kind: 'keywords'; vocabulary: string[] }
    | { id: string; kind: 'units'; layers: { name: string; channels: number }[] }
  )[];
}

export interface CreatedRoom {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
  links: RoomLinks;
}

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
