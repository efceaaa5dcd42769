// The client address of an HTTP request for rate limits: a peer engine that forwards a request
// (cluster mode) passes the original client's address along, and only peers are believed.
import type express from 'express';

export interface ForwardedRequest extends express.Request {
  /** set by the cluster's routes when a peer forwarded the request (its shared secret checked) */
  ppgnClient?: string;
}

export function clientAddress(req: express.Request): string {
  return (req as ForwardedRequest).ppgnClient ?? req.ip ?? '';
}
