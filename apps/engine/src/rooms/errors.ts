import type { ErrorCode, ErrorReason } from '@ppgn/shared';

/** A refused change or request; `code` says why (and, over HTTP, which status). */
export class RoomError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = 'invalid',
    /** the cause, where clients treat causes of one code differently */
    readonly reason?: ErrorReason,
  ) {
    super(message);
    this.name = 'RoomError';
  }
}
