import { describe, expect, it } from 'vitest';
import { PpgnInputError } from '@ppgn/core';
import { ApiError, toHttpError } from '../src/errors';
import { RoomError } from '../src/rooms/model';

describe('toHttpError', () => {
  it('derives the status from the error code, not from the message text', () => {
    expect(toHttpError(new ApiError('forbidden', 'this link is not valid for the room'))).toEqual({
      status: 403,
      body: { error: { code: 'forbidden', message: 'this link is not valid for the room' } },
      unexpected: false,
    });
    // a message starting with "no " is not a 404 by itself any more
    expect(toHttpError(new RoomError('no strokes to clear')).status).toBe(400);
    expect(toHttpError(new RoomError('gallery item gone', 'not_found')).status).toBe(404);
    expect(toHttpError(new ApiError('conflict', 'no history kept yet')).body.error.code).toBe('conflict');
    expect(toHttpError(new ApiError('rate_limited', 'slow down')).status).toBe(429);
    expect(toHttpError(new PpgnInputError('bad label', 'labels')).body).toEqual({
      error: { code: 'invalid', message: 'bad label' },
    });
  });
  it('hides unexpected errors behind internal / 500', () => {
    expect(toHttpError(new Error('db password is hunter2'))).toEqual({
      status: 500,
      body: { error: { code: 'internal', message: 'internal error' } },
      unexpected: true,
    });
    expect(toHttpError('boom').status).toBe(500);
  });
  it('keeps body-parser client errors as invalid', () => {
    const tooBig = Object.assign(new Error('request entity too large'), { status: 413, expose: true });
    expect(toHttpError(tooBig)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', message: 'request entity too large' } },
    });
  });
});
