/**
 * The live directory, for holders of an account token (`Authorization: Bearer`, verified as signalling verifies
 * it): `GET /api/live` → `{rooms: [...]}`, every live room by start time; `GET /api/live/<channelName>` →
 * `{room}`, or 404. Reads what signalling keeps, never changes it. Errors are JSON `{code, message}` with the
 * matching HTTP status (reply.ts), like calls.ts.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { CHANNEL_NAME_PATTERN, Code, NetcallError } from '../../services/protocol';
import type { TokenVerifier } from '../auth/tokens';
import type { LiveDirectoryEntry } from '../signaling/live';
import { bearerOf } from './calls';
import { pathOf, requireGet, sendError, sendJson } from './reply';

export interface LiveRouteOptions {
  tokens: Pick<TokenVerifier, 'verify'>;
  /** Every live room, as listed. */
  rooms(): Promise<LiveDirectoryEntry[]>;
  /** One live room by name, or undefined. */
  room(channelName: string): Promise<LiveDirectoryEntry | undefined>;
}

export const LIVE_PATH = '/api/live';

/** A route for the server's request handler: resolves true when it answered (the path was /api/live…). */
export function createLiveRoute(options: LiveRouteOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = pathOf(req);
    if (path !== LIVE_PATH && !path.startsWith(`${LIVE_PATH}/`)) return false;
    try {
      requireGet(req);
      const token = bearerOf(req);
      if (token === null)
        throw new NetcallError(Code.UNAUTHORIZED, 'missing "Authorization: Bearer <token>"');
      options.tokens.verify(token);
      // Audience counts and signed play URLs change by the second: sendJson says no-store.
      if (path === LIVE_PATH) {
        sendJson(res, 200, { rooms: await options.rooms() });
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
      const room = await options.room(name);
      if (!room) throw new NetcallError(Code.NOT_FOUND, `no live room named "${name}"`);
      sendJson(res, 200, { room });
    } catch (error) {
      sendError(res, error);
    }
    return true;
  };
}
