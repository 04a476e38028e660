/**
 * The HTTP side of the server port: `/healthz`, and in dev mode `POST /api/login {account}` → `{token}`.
 * Errors are JSON `{code, message}` with the matching HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { Code, NetcallError } from '../../services/protocol';
import { mintToken } from '../auth/tokens';

export interface HttpContext {
  dev: boolean;
  secret: string;
  tokenTtlSeconds: number;
  stats(): Record<string, number>;
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

export function createRequestHandler(ctx: HttpContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/healthz' && req.method === 'GET') {
        send(res, 200, { status: 'ok', ...ctx.stats() });
        return;
      }
      if (path === '/api/login') {
        if (!ctx.dev)
          throw new NetcallError(Code.NOT_FOUND, 'dev login is off: mint tokens on your business server');
        if (req.method !== 'POST') throw new NetcallError(405, 'use POST');
        const body = (await readJson(req)) as { account?: unknown };
        if (typeof body !== 'object' || body === null || typeof body.account !== 'string')
          throw new NetcallError(Code.BAD_REQUEST, '"account" must be a string');
        const token = mintToken(ctx.secret, body.account, ctx.tokenTtlSeconds);
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
