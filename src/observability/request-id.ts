// Request ids: accept the client's X-Request-ID when it is sane (short, no spaces or control
// characters, so it cannot forge log lines), otherwise mint one; echo it on the response and keep
// it on `res.locals.requestId` for the proxy, the access log and the replica's request context.

import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

export const REQUEST_ID_HEADER = "x-request-id";
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The client's id when it is acceptable, else a fresh UUID. */
export function resolveRequestId(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_ID.test(value) ? value : randomUUID();
}

export function requestIdMiddleware() {
  return function requestId(req: Request, res: Response, next: NextFunction): void {
    const id = resolveRequestId(req.headers[REQUEST_ID_HEADER]);
    // Downstream code (and the replica, via the serialized headers) sees the id that was echoed.
    req.headers[REQUEST_ID_HEADER] = id;
    res.locals.requestId = id;
    res.setHeader("X-Request-ID", id);
    next();
  };
}

/** The id assigned by `requestIdMiddleware`, if it ran. */
export function requestIdOf(res: Response): string | undefined {
  const id = res.locals.requestId;
  return typeof id === "string" ? id : undefined;
}
