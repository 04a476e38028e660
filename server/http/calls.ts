/**
 * `GET /api/calls[?limit=N]` with `Authorization: Bearer <account token>`: the caller's own call history,
 * newest first, each entry with `direction` and `peer` from their side. Never shows another account's calls:
 * the account comes from the verified token, never from the request.
 * Errors are JSON `{code, message}` with the matching HTTP status, like routes.ts.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { Code, NetcallError } from '../../services/protocol';
import type { TokenVerifier } from '../auth/tokens';
import { viewFor, type CallHistory, type CallView } from '../history';

export interface CallsRouteOptions {
  /** The server's verifier: same lifetime, audience, issuer and kick rules as signalling. */
  tokens: Pick<TokenVerifier, 'verify'>;
  history: CallHistory;
  /** Returned when `limit` is absent. Default 50. */
  defaultLimit?: number;
  /** Largest accepted `limit`. Default 100. */
  maxLimit?: number;
}

export const CALLS_PATH = '/api/calls';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    // Per-account data: no shared cache may keep it.
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(req: IncomingMessage): string | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match ? match[1] : null;
}

function bearerToken(req: IncomingMessage): string {
  const token = bearerOf(req);
  if (token === null) throw new NetcallError(Code.UNAUTHORIZED, 'missing "Authorization: Bearer <token>"');
  return token;
}

function parseLimit(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  // Digits only: rejects '', '1e2', '-1', '10.5' and ' 7' rather than guessing what was meant.
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max))
    throw new NetcallError(Code.BAD_REQUEST, `"limit" must be an integer from 1 to ${max}`);
  return n;
}

/**
 * A route for the server's request handler: resolves true when it answered the request (it was for
 * /api/calls), false to let the next route try.
 */
export function createCallsRoute(options: CallsRouteOptions) {
  const maxLimit = options.maxLimit ?? 100;
  const defaultLimit = Math.min(options.defaultLimit ?? 50, maxLimit);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    // Split by hand, as routes.ts does: `new URL('//x/api/calls', base)` would read `x` as a host.
    const raw = req.url ?? '/';
    const mark = raw.indexOf('?');
    const path = mark < 0 ? raw : raw.slice(0, mark);
    const query = mark < 0 ? '' : raw.slice(mark + 1);
    if (path !== CALLS_PATH) return false;
    try {
      if (req.method !== 'GET') {
        send(res, 405, { code: 405, message: 'use GET' }, { allow: 'GET' });
        return true;
      }
      const { account } = options.tokens.verify(bearerToken(req));
      const limit = parseLimit(new URLSearchParams(query).get('limit'), defaultLimit, maxLimit);
      const records = await options.history.list(account, limit);
      const calls = records
        .map((entry) => viewFor(account, entry))
        .filter((view): view is CallView => view !== null)
        .slice(0, limit);
      send(res, 200, { calls });
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
