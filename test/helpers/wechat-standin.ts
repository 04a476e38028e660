/**
 * A local stand-in for api.weixin.qq.com (node http on port 0), for the three calls the missed-call notifier
 * makes: getAccessToken (GET /cgi-bin/token), getStableAccessToken (POST /cgi-bin/stable_token) and
 * subscribeMessage.send (POST /cgi-bin/message/subscribe/send). It checks the documented request shapes and
 * answers with WeChat's documented errcodes, so a shape mistake fails a test the way WeChat would fail it in
 * production. Every request is recorded for assertions. Test-only: no persistence, one app.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

export interface StandinRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or the raw text if it was not JSON, or undefined for no body. */
  body: unknown;
  /** What the stand-in answered. */
  reply: Record<string, unknown>;
}

export interface WeChatStandinOptions {
  appId?: string;
  appSecret?: string;
  templateId?: string;
  /** Token lifetime it reports, in seconds. Default 7200 like WeChat. */
  expiresIn?: number;
  /** openids that have not subscribed: sends to them get 43101. */
  refusedOpenIds?: string[];
}

export interface WeChatStandin {
  /** `http://127.0.0.1:<port>`: pass as `apiBase`. */
  apiBase: string;
  appId: string;
  appSecret: string;
  templateId: string;
  requests: StandinRequest[];
  /** Requests to one path (`/cgi-bin/stable_token`, `/cgi-bin/token`, `/cgi-bin/message/subscribe/send`). */
  requestsTo(path: string): StandinRequest[];
  /** Successful sends, as WeChat would deliver them. */
  delivered(): { touser: string; template_id: string; data: Record<string, { value: string }> }[];
  /** Another holder refreshed the token: the current one answers 40001 from now on, a new one is issued. */
  rotateToken(): void;
  /** Answers the next `count` sends with this errcode (e.g. -1 system busy) before behaving again. */
  failNextSends(errcode: number, errmsg: string, count?: number): void;
  refuse(openid: string): void;
  close(): Promise<void>;
}

const SEND_PATH = '/cgi-bin/message/subscribe/send';
const MINIPROGRAM_STATES = ['developer', 'trial', 'formal'];
const LANGS = ['zh_CN', 'en_US', 'zh_HK', 'zh_TW'];
/** WeChat's length limits per template key type, in characters (see server/notify/template-values.ts). */
const LIMITS: Record<string, number> = {
  thing: 20,
  number: 32,
  letter: 32,
  symbol: 5,
  character_string: 32,
  phone_number: 17,
  car_number: 8,
  phrase: 5,
  name: 20,
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWeChatStandin(options: WeChatStandinOptions = {}): Promise<WeChatStandin> {
  const appId = options.appId ?? 'wx0123456789abcdef';
  const appSecret = options.appSecret ?? 'standin-app-secret';
  const templateId = options.templateId ?? 'TPL_missed_call_0001';
  const expiresIn = options.expiresIn ?? 7200;
  const refused = new Set(options.refusedOpenIds ?? []);
  const requests: StandinRequest[] = [];
  let tokenSeq = 0;
  let current = '';
  const issue = () => (current = `ACCESS_TOKEN_${++tokenSeq}_${'x'.repeat(40)}`);
  let msgSeq = 0;
  // Above 2^53 like real msgids, so a client that JSON.parses them would see the rounding.
  const nextMsgid = () => `29440229811005${String(1000 + ++msgSeq)}`;
  let failures: { errcode: number; errmsg: string; count: number } | null = null;
  const deliveredList: ReturnType<WeChatStandin['delivered']> = [];

  // getAccessToken answers a wrong secret with 40001, getStableAccessToken with 40125.
  const credentials = (
    appid: unknown,
    secret: unknown,
    grantType: unknown,
    badSecret: number,
  ): Record<string, unknown> | null => {
    if (grantType !== 'client_credential') return { errcode: 40002, errmsg: 'invalid grant_type' };
    if (appid !== appId) return { errcode: 40013, errmsg: 'invalid appid' };
    if (secret !== appSecret) return { errcode: badSecret, errmsg: 'invalid appsecret' };
    return null;
  };

  const tokenReply = (forceRefresh = false) => {
    if (!current || forceRefresh) issue();
    return { access_token: current, expires_in: expiresIn };
  };

  const sendReply = (token: string | undefined, body: unknown): Record<string, unknown> => {
    if (!token) return { errcode: 41001, errmsg: 'access_token missing' };
    if (token !== current)
      return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    if (typeof body !== 'object' || body === null) return { errcode: 47001, errmsg: 'data format error' };
    const msg = body as Record<string, unknown>;
    if (typeof msg.touser !== 'string' || !msg.touser) return { errcode: 40003, errmsg: 'invalid openid' };
    if (msg.template_id !== templateId) return { errcode: 40037, errmsg: 'invalid template_id' };
    if (msg.page !== undefined && typeof msg.page !== 'string')
      return { errcode: 41030, errmsg: 'invalid page' };
    if (msg.miniprogram_state !== undefined && !MINIPROGRAM_STATES.includes(msg.miniprogram_state as string))
      return { errcode: 47001, errmsg: 'data format error: miniprogram_state' };
    if (msg.lang !== undefined && !LANGS.includes(msg.lang as string))
      return { errcode: 47001, errmsg: 'data format error: lang' };
    if (typeof msg.data !== 'object' || msg.data === null || Array.isArray(msg.data))
      return { errcode: 47003, errmsg: 'argument invalid! data invalid' };
    const data = msg.data as Record<string, unknown>;
    for (const [key, entry] of Object.entries(data)) {
      const value = (entry as { value?: unknown } | null)?.value;
      const invalid = { errcode: 47003, errmsg: `argument invalid! data.${key}.value invalid` };
      if (
        typeof entry !== 'object' ||
        entry === null ||
        (typeof value !== 'string' && typeof value !== 'number')
      )
        return invalid;
      const text = String(value);
      const type = /^([a-z_]+?)\d+$/.exec(key)?.[1] ?? key;
      if (text === '' || Array.from(text).length > (LIMITS[type] ?? Infinity)) return invalid;
    }
    if (failures && failures.count > 0) {
      failures.count--;
      return { errcode: failures.errcode, errmsg: failures.errmsg };
    }
    if (refused.has(msg.touser)) return { errcode: 43101, errmsg: 'user refuse to accept the msg' };
    deliveredList.push(msg as never);
    return { errcode: 0, errmsg: 'ok', msgid: nextMsgid() };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, key) => (query[key] = value));
    const text = await readBody(req);
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    let reply: Record<string, unknown>;
    let rawMsgid: string | undefined;
    if (url.pathname === '/cgi-bin/token' && req.method === 'GET') {
      reply = credentials(query.appid, query.secret, query.grant_type, 40001) ?? tokenReply();
    } else if (url.pathname === '/cgi-bin/stable_token' && req.method === 'POST') {
      const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      reply = credentials(b.appid, b.secret, b.grant_type, 40125) ?? tokenReply(b.force_refresh === true);
    } else if (url.pathname === SEND_PATH && req.method === 'POST') {
      reply = sendReply(query.access_token, body);
      if (typeof reply.msgid === 'string') rawMsgid = reply.msgid;
    } else {
      reply = { errcode: 404, errmsg: `no stand-in for ${req.method} ${url.pathname}` };
    }
    requests.push({ method: req.method ?? '', path: url.pathname, query, body, reply });
    // WeChat sends msgid as a bare 64-bit integer, which JSON.stringify cannot write for a BigInt.
    const out = rawMsgid
      ? JSON.stringify({ ...reply, msgid: 0 }).replace('"msgid":0', `"msgid":${rawMsgid}`)
      : JSON.stringify(reply);
    // WeChat answers HTTP 200 with an errcode body, even for errors.
    res.writeHead(200, { 'content-type': 'application/json; encoding=utf-8' });
    res.end(out);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiBase: `http://127.0.0.1:${port}`,
    appId,
    appSecret,
    templateId,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    delivered: () => deliveredList,
    rotateToken: () => void issue(),
    failNextSends: (errcode, errmsg, count = 1) => (failures = { errcode, errmsg, count }),
    refuse: (openid) => void refused.add(openid),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
