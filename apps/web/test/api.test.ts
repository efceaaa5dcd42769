import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError, request } from '../lib/api';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

describe('request', () => {
  it('reads the error code and message of the engine', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(404, { error: { code: 'not_found', message: 'no gallery item "x"' } })),
    );
    const err = await request('http://e', 'GET', '/gallery/x').catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', message: 'no gallery item "x" (HTTP 404)' });
  });
  it('falls back to a code from the status, and to unavailable when unreachable', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('<html>bad gateway</html>', { status: 429, statusText: 'Too Many Requests' })),
    );
    expect(await request('http://e', 'GET', '/x').catch((e) => e)).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'Too Many Requests (HTTP 429)',
    });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('fetch failed'))),
    );
    expect(await request('http://e', 'GET', '/x').catch((e) => e)).toMatchObject({ status: 0, code: 'unavailable' });
  });
});
