/**
 * The HTTP hooks nginx-rtmp asks before every publish and play (and again, periodically, for every running
 * session): our own small server on 127.0.0.1, answering 2xx to allow and 403 to refuse, as nginx-rtmp's
 * notify module expects.
 *
 * Owns: the hook endpoint's own protection (127.0.0.1 only, a per-instance secret path segment compared in
 * constant time, POST of a small form only) and the decision, which is exactly the embedded front's: the
 * push signature of the stream's own path to publish, a play signature to play, unexpired, while the stream
 * is authorised. It must never decide anything else (who owns a stream is signalling's business) and never
 * trust a form field nginx does not put there itself.
 */
import { timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { APP, isStreamName, streamPathOf, verifySign } from '../sign';
import { clip, quote } from '../values';

export const HOOK_ROOT = 'media-hooks';

/** What nginx-rtmp posts (ngx_rtmp_notify_module.c), plus `sign`, the one query parameter our URLs carry. */
const KNOWN_FIELDS = new Set([
  'app',
  'flashver',
  'swfurl',
  'tcurl',
  'pageurl',
  'addr',
  'clientid',
  'call',
  'name',
  'type',
  'start',
  'duration',
  'reset',
  'time',
  'timestamp',
  'sign',
]);
// nginx's forms are a few hundred bytes; anything near this is not nginx.
const MAX_BODY_BYTES = 4096;
// A hook answered slowly holds a publish or play; ours are decided in memory.
const REQUEST_TIMEOUT_MS = 5000;

/** Each hook and the `call` values nginx sends to it. */
const HOOKS: Record<string, readonly string[]> = {
  publish: ['publish'],
  play: ['play'],
  update: ['update_publish', 'update_play'],
  done: ['done'],
};

export interface HookDecisions {
  publishKey: string;
  playKey: string;
  isAuthorised(stream: string): boolean;
  nowSeconds(): number;
}

export interface HookServer {
  /** `http://127.0.0.1:<port>/media-hooks/<secret>`: nginx's hook URLs are this plus `/<hook>`. */
  base: string;
  close(): Promise<void>;
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::ffff:127.0.0.1';
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(secret, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`${text}\n`);
}

type Form = Map<string, string>;

/** The form, when every field is one nginx sends and none is repeated (a repeat would be a client's). */
function parseForm(body: string): Form | string {
  const form: Form = new Map();
  for (const [key, value] of new URLSearchParams(body)) {
    if (!KNOWN_FIELDS.has(key)) return `unexpected field ${quote(key)}`;
    if (form.has(key)) return `repeated field ${quote(key)}`;
    form.set(key, value);
  }
  return form;
}

/** Null to allow; otherwise why not. */
function decide(hook: string, form: Form, decisions: HookDecisions): string | null {
  const call = form.get('call') ?? '';
  if (!HOOKS[hook].includes(call)) return `call ${quote(call)} on the ${hook} hook`;
  if (hook === 'done') return null;
  const kind = call === 'publish' || call === 'update_publish' ? 'publish' : 'play';
  if (form.get('app') !== APP) return `${kind}: not the ${APP} application`;
  const name = form.get('name') ?? '';
  if (!isStreamName(name)) return `${kind}: stream name is not a stream name`;
  // A running session was checked when it started; what it may lose since is its authorisation.
  if (hook !== 'update') {
    const key = kind === 'publish' ? decisions.publishKey : decisions.playKey;
    if (!verifySign(form.get('sign'), streamPathOf(name), key, decisions.nowSeconds()))
      return form.has('sign')
        ? `${kind}: signature invalid or expired`
        : `${kind}: stream name carries no signature`;
  }
  if (!decisions.isAuthorised(name)) return `${kind}: stream not authorised`;
  return null;
}

/** Starts the hook server on 127.0.0.1 (a port of its own choosing) under `/media-hooks/<secret>/`. */
export function startHookServer(options: {
  secret: string;
  decisions: HookDecisions;
  log?: Logger;
}): Promise<HookServer> {
  const { secret, decisions, log } = options;
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const parts = (req.url ?? '').split('?')[0].split('/');
    // ['', 'media-hooks', '<secret>', '<hook>']
    if (
      parts.length !== 4 ||
      parts[1] !== HOOK_ROOT ||
      !sameSecret(parts[2], secret) ||
      !(parts[3] in HOOKS)
    ) {
      log?.warn({ ip: req.socket.remoteAddress }, 'media hook: unknown path');
      answer(res, 404, 'not found');
      return;
    }
    const hook = parts[3];
    const form = parseForm(body);
    const reason = typeof form === 'string' ? `malformed: ${form}` : decide(hook, form, decisions);
    const fields = typeof form === 'string' ? {} : { stream: streamPathOf(clip(form.get('name') ?? '')) };
    if (reason !== null) {
      log?.info({ protocol: 'rtmp', hook, reason, ...fields }, 'media request refused');
      answer(res, 403, reason);
      return;
    }
    if (hook === 'publish' || hook === 'play') log?.info({ protocol: 'rtmp', ...fields }, `${hook} accepted`);
    else if (hook === 'done') log?.debug({ protocol: 'rtmp', ...fields }, 'media session ended');
    answer(res, 200, 'ok');
  };

  const server = http.createServer((req, res) => {
    // Bound to 127.0.0.1 already; checked again so that no change of bind ever opens the hooks wider.
    if (!isLoopback(req.socket.remoteAddress)) {
      log?.warn({ ip: req.socket.remoteAddress }, 'media hook: not from 127.0.0.1');
      answer(res, 403, 'forbidden');
      req.destroy();
      return;
    }
    if (req.method !== 'POST') {
      answer(res, 405, 'method not allowed');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer(res, 413, 'too large');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size <= MAX_BODY_BYTES) handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => {});
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}/${HOOK_ROOT}/${secret}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
