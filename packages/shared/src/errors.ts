// Error codes on the wire: the engine's HTTP errors are `{ error: { code, message } }` and the
// HTTP status is derived from the code by one function (never from the message text).
import { z } from 'zod';

export const ErrorCode = z.enum([
  'not_found',
  'unauthenticated',
  'forbidden',
  'invalid',
  'too_large',
  'rate_limited',
  'unavailable',
  'conflict',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/**
 * Why, where one code has several causes a client treats differently (it branches on these, never on text):
 * link_invalid: the link is not the room's; removed: the owner removed this person; protocol: the page and the
 * engine speak different protocol versions (reload the page).
 */
export const ErrorReason = z.enum(['link_invalid', 'removed', 'protocol']);
export type ErrorReason = z.infer<typeof ErrorReason>;

const STATUS: Record<ErrorCode, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** The HTTP status for an error code. */
export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** Best-effort code for a status without a body (a proxy's error page, an old engine). */
export function codeForStatus(status: number): ErrorCode {
  const exact = (Object.keys(STATUS) as ErrorCode[]).find((c) => STATUS[c] === status);
  if (exact) return exact;
  return status >= 500 ? 'internal' : 'invalid';
}

export const ErrorBody = z.object({
  error: z.object({ code: ErrorCode, message: z.string(), reason: ErrorReason.optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export function errorBody(code: ErrorCode, message: string, reason?: ErrorReason): ErrorBody {
  return { error: { code, message, ...(reason ? { reason } : {}) } };
}
