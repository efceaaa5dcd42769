import { PngTooLargeError, PpgnInputError } from '@ppgn/core';
import { codeForStatus, errorBody, httpStatus, type ErrorBody, type ErrorCode, type ErrorReason } from '@ppgn/shared';
import { isDatabaseUnavailable } from '@ppgn/db';
import { RoomError } from './rooms/errors';

/** An error the user can fix: printed as one line ("what is wrong — what to do"), exit code 1. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
  line(): string {
    return `${this.message} — ${this.hint}`;
  }
}

/** An HTTP API error: its code decides the status (see httpStatus in @ppgn/shared). */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The one place an error becomes an HTTP response: `{ error: { code, message } }` with the status
 * derived from the code. Domain errors carry their code; anything unexpected is `internal`.
 */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  const reply = (code: ErrorCode, message: string, unexpected = false, reason?: ErrorReason) => ({
    status: httpStatus(code),
    body: errorBody(code, message, reason),
    unexpected,
  });
  if (err instanceof RoomError) return reply(err.code, err.message, false, err.reason);
  if (err instanceof ApiError) return reply(err.code, err.message);
  if (err instanceof PngTooLargeError) return reply('too_large', err.message);
  if (err instanceof PpgnInputError) return reply('invalid', err.message);
  if (isDatabaseUnavailable(err))
    return reply(
      'unavailable',
      'the database is not answering right now; nothing was saved; try again in a moment (rooms keep running)',
    );
  // express.json(): malformed or oversized bodies (http-errors with expose = true)
  const e = err as { expose?: unknown; status?: unknown; message?: unknown } | null;
  if (e && e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return reply(e.status === 413 ? 'invalid' : codeForStatus(e.status), String(e.message));
  return reply('internal', 'internal error', true);
}
