import { describe, expect, it } from 'vitest';
import { ErrorBody, ErrorCode, codeForStatus, errorBody, httpStatus } from '../src';

describe('error codes', () => {
  it('maps every code to one HTTP status', () => {
    expect(Object.fromEntries(ErrorCode.options.map((c) => [c, httpStatus(c)]))).toEqual({
      not_found: 404,
      unauthenticated: 401,
      forbidden: 403,
      invalid: 400,
      too_large: 413,
      rate_limited: 429,
      unavailable: 503,
      conflict: 409,
      internal: 500,
    });
  });
  it('round-trips status → code for every code, and falls back by class', () => {
    for (const c of ErrorCode.options) expect(codeForStatus(httpStatus(c))).toBe(c);
    expect(codeForStatus(413)).toBe('too_large');
    expect(codeForStatus(418)).toBe('invalid');
    expect(codeForStatus(502)).toBe('internal');
  });
  it('errorBody is the wire shape', () => {
    expect(ErrorBody.parse(errorBody('not_found', 'no room "x"'))).toEqual({
      error: { code: 'not_found', message: 'no room "x"' },
    });
    expect(ErrorBody.safeParse({ error: 'not found' }).success).toBe(false);
  });
});
