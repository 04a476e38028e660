/**
 * The HTTP side of the server port: `/healthz`, `/metrics` (Prometheus, for holders of the metrics token), and
 * in dev mode `POST /api/login {account}` → `{token}`.
 * Errors are JSON `{code, message}` with the matching HTTP status. No CORS headers: mini-programs do not need
 * them, and nothing here is for other sites' scripts.
 */
import { createHash, timingSafeEqual } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { Code, NetcallError } from '../../services/protocol';
import { mintToken } from '../auth/tokens';
import { bearerOf } from './calls';

export interface HttpContext {
  dev: boolean;
  secret: string;
  tokenTtlSeconds: number;
  /** `aud`/`iss` the server requires, so dev-minted tokens carry them. */
  tokenClaims: { audience?: string; issuer?: string };
  /** Unlocks `stats()` on /healthz; without it, /healthz never shows live counts. */
  metricsToken?: string;
  /** What anyone may see: up or degraded, and the media plane's state. */
  health(): Record<string, string>;
  /** Live counts, for holders of the metrics token only. */
  /** A count the server cannot read right now (its shared store is away) is null. */
  stats(): Promise<Record<string, number | null>>;
  /** Prometheus exposition for `GET /metrics` (holders of the metrics token only); absent without a token. */
  metrics?: { contentType: string; scrape(): Promise<string> };
  /** Extra routes tried in order before the 404; each resolves true when it answered. */
  routes?: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>)[];
}

const MAX_BODY_BYTES = 4096;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new NetcallError(Code.BAD_REQUEST, `body exceeds ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch {
        reject(new NetcallError(Code.BAD_REQUEST, 'body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

// Compares digests so neither the length nor a prefix of the token leaks through timing.
function hasMetricsToken(req: IncomingMessage, expected: string | undefined): boolean {
  const token = bearerOf(req);
  if (!expected || token === null) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(token), digest(expected));
}

export function createRequestHandler(ctx: HttpContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/healthz' && req.method === 'GET') {
        const counts = hasMetricsToken(req, ctx.metricsToken) ? await ctx.stats() : {};
        send(res, 200, { ...ctx.health(), ...counts });
        return;
      }
      if (path === '/metrics' && req.method === 'GET') {
        // 404, not 401: with no token configured there is nothing a client could send to be let in.
        if (!ctx.metricsToken || !ctx.metrics)
          throw new NetcallError(
            Code.NOT_FOUND,
            'metrics are off: start the server with a metrics token (NETCALL_METRICS_TOKEN or --metrics-token-file)',
          );
        if (!hasMetricsToken(req, ctx.metricsToken))
          throw new NetcallError(Code.UNAUTHORIZED, 'send Authorization: Bearer <metrics token>');
        const text = await ctx.metrics.scrape();
        res.writeHead(200, {
          'content-type': ctx.metrics.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      if (path === '/api/login') {
        if (!ctx.dev)
          throw new NetcallError(Code.NOT_FOUND, 'dev login is off: mint tokens on your business server');
        if (req.method !== 'POST') throw new NetcallError(405, 'use POST');
        const body = (await readJson(req)) as { account?: unknown };
        if (typeof body !== 'object' || body === null || typeof body.account !== 'string')
          throw new NetcallError(Code.BAD_REQUEST, '"account" must be a string');
        const token = mintToken(ctx.secret, body.account, ctx.tokenTtlSeconds, ctx.tokenClaims);
        send(res, 200, { account: body.account, token, expiresIn: ctx.tokenTtlSeconds });
        return;
      }
      for (const route of ctx.routes ?? []) if (await route(req, res)) return;
      throw new NetcallError(Code.NOT_FOUND, `no route for ${req.method} ${path}`);
    } catch (error) {
      const code = error instanceof NetcallError ? error.code : Code.INTERNAL;
      const message = error instanceof NetcallError ? error.message : 'internal error';
      if (!res.headersSent) send(res, code >= 400 && code < 600 ? code : 500, { code, message });
    }
  };
}
