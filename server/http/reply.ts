/**
 * Replies shared by the routes added for live (the viewer, HLS, recordings): a JSON body or a JSON error with
 * the matching HTTP status, and the path of a request split from its query by hand (`new URL('//x/live', base)`
 * would read `x` as a host). Nothing here decides what a route answers.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { Code, NetcallError } from '../../services/protocol';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** Answers an error thrown by a route: a NetcallError's code and message, anything else a bare 500. */
export function sendError(res: ServerResponse, error: unknown): void {
  const code = error instanceof NetcallError ? error.code : Code.INTERNAL;
  const message = error instanceof NetcallError ? error.message : 'internal error';
  const headers: Record<string, string> = {};
  // RFC 6750: a 401 for a bearer-protected resource names the scheme.
  if (code === Code.UNAUTHORIZED) headers['www-authenticate'] = 'Bearer realm="netcall"';
  if (code === 405) headers.allow = 'GET, HEAD';
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, code >= 400 && code < 600 ? code : 500, { code, message }, headers);
}

export function pathOf(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  const mark = raw.indexOf('?');
  return mark < 0 ? raw : raw.slice(0, mark);
}

/** GET (and HEAD, which Node answers without the body) only. */
export function requireGet(req: IncomingMessage): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new NetcallError(405, 'use GET');
}
