/**
 * The live directory, for holders of an account token (`Authorization: Bearer`, verified as signalling verifies
 * it): `GET /api/live` → `{rooms: [...]}`, every live room by start time; `GET /api/live/<channelName>` →
 * `{room}`, or 404. Reads what signalling keeps, never changes it. Errors are JSON `{code, message}` with the
 * matching HTTP status, like calls.ts.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { CHANNEL_NAME_PATTERN, Code, NetcallError } from '../../services/protocol';
import type { TokenVerifier } from '../auth/tokens';
import type { LiveDirectoryEntry } from '../signaling/live';
import { bearerOf } from './calls';

export interface LiveRouteOptions {
  tokens: Pick<TokenVerifier, 'verify'>;
  /** Every live room, as listed. */
  rooms(): LiveDirectoryEntry[];
  /** One live room by name, or undefined. */
  room(channelName: string): LiveDirectoryEntry | undefined;
}

export const LIVE_PATH = '/api/live';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    // Audience counts and signed play URLs change by the second: no cache may keep them.
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A route for the server's request handler: resolves true when it answered (the path was /api/live…). */
export function createLiveRoute(options: LiveRouteOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    // Split by hand, as routes.ts does: `new URL('//x/api/live', base)` would read `x` as a host.
    const raw = req.url ?? '/';
    const mark = raw.indexOf('?');
    const path = mark < 0 ? raw : raw.slice(0, mark);
    if (path !== LIVE_PATH && !path.startsWith(`${LIVE_PATH}/`)) return false;
    try {
      if (req.method !== 'GET') {
        send(res, 405, { code: 405, message: 'use GET' }, { allow: 'GET' });
        return true;
      }
      const token = bearerOf(req);
      if (token === null)
        throw new NetcallError(Code.UNAUTHORIZED, 'missing "Authorization: Bearer <token>"');
      options.tokens.verify(token);
      if (path === LIVE_PATH) {
        send(res, 200, { rooms: options.rooms() });
        return true;
      }
      let name: string;
      try {
        name = decodeURIComponent(path.slice(LIVE_PATH.length + 1));
      } catch {
        throw new NetcallError(Code.BAD_REQUEST, 'malformed room name');
      }
      if (!CHANNEL_NAME_PATTERN.test(name))
        throw new NetcallError(Code.BAD_REQUEST, `a room name matches ${String(CHANNEL_NAME_PATTERN)}`);
      const room = options.room(name);
      if (!room) throw new NetcallError(Code.NOT_FOUND, `no live room named "${name}"`);
      send(res, 200, { room });
    } catch (error) {
      const code = error instanceof NetcallError ? error.code : Code.INTERNAL;
      const message = error instanceof NetcallError ? error.message : 'internal error';
      // RFC 6750: a 401 for a bearer-protected resource names the scheme.
      const headers: Record<string, string> =
        code === Code.UNAUTHORIZED ? { 'www-authenticate': 'Bearer realm="netcall"' } : {};
      if (!res.headersSent) send(res, code >= 400 && code < 600 ? code : 500, { code, message }, headers);
    }
    return true;
  };
}
