/**
 * Missed-call notices as WeChat subscribe messages (订阅消息), over WeChat's documented server API:
 *   token: POST {apiBase}/cgi-bin/stable_token {grant_type, appid, secret, force_refresh:false} (default), or
 *          GET  {apiBase}/cgi-bin/token?grant_type=client_credential&appid=…&secret=… (`tokenEndpoint:'classic'`)
 *   send:  POST {apiBase}/cgi-bin/message/subscribe/send?access_token=… {touser, template_id, page, data, …}
 * Never throws or rejects: every outcome is a NotifyResult, and failures are logged. Never logs the app
 * secret, an access token or an openid.
 */
import type { MissedCallEvent, Notifier, NotifyLog, NotifyResult } from './index';
import { fitTemplateData } from './template-values';

/** Template values by key (`thing1`, `time2`, …); the notifier wraps them as `{value}` and fits lengths. */
export type TemplateData = Record<string, string | number>;

export interface WeChatSubscribeNotifierOptions {
  /** Default `https://api.weixin.qq.com`; tests point it at a stand-in. */
  apiBase?: string;
  appId: string;
  appSecret: string;
  /** The subscribe template the user agreed to in `wx.requestSubscribeMessage`. */
  templateId: string;
  /** Mini-program page opened from the notice (`pages/calls/index?cid=…`); omitted → the notice has no link. */
  page?: string | ((event: MissedCallEvent) => string);
  /** Which build the notice opens; WeChat defaults to `formal`. */
  miniprogramState?: 'developer' | 'trial' | 'formal';
  lang?: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW';
  /** The callee's openid for this app, or null when unknown (the notice is then skipped). */
  resolveOpenId(account: string): Promise<string | null> | string | null;
  /**
   * The template's values for this event, keyed as in the admin console. Template keys differ per app,
   * so there is no default; see `formatWeChatTime` for `time` values.
   */
  buildData(event: MissedCallEvent): TemplateData;
  /**
   * `stable` (default): getStableAccessToken, isolated from tokens the app's business server fetches with
   * getAccessToken, so we cannot invalidate theirs (nor they ours). `classic`: getAccessToken, where every
   * fetch invalidates the previous token after 5 minutes; use it only if nothing else fetches tokens.
   */
  tokenEndpoint?: 'stable' | 'classic';
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  log?: NotifyLog;
  /** Clock for token expiry; tests move it. */
  now?: () => number;
}

const DEFAULT_API_BASE = 'https://api.weixin.qq.com';
/**
 * Send errcodes that mean "this access token is no good": 40001 invalid or not latest, 40014 invalid,
 * 42001 expired. Each gets one refresh and one retry.
 */
const TOKEN_ERRORS = new Set([40001, 40014, 42001]);
/** 43101: the user has not subscribed (or unsubscribed). Normal; retrying cannot help. */
const USER_REFUSED = 43101;

class WeChatApiError extends Error {
  constructor(
    readonly errcode: number | undefined,
    readonly errmsg: string,
  ) {
    super(errmsg);
  }
}

interface CachedToken {
  token: string;
  /** When to fetch again (ms epoch), ahead of WeChat's expiry. */
  refreshAt: number;
}

/** `YYYY-MM-DD HH:mm` at a fixed UTC offset (default +08:00, China has no DST), for `time`/`date` values. */
export function formatWeChatTime(ms: number, utcOffsetMinutes = 480): string {
  // Shift, then read the UTC fields: independent of the server's own time zone.
  const iso = new Date(ms + utcOffsetMinutes * 60_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

export class WeChatSubscribeNotifier implements Notifier {
  private readonly apiBase: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private cached: CachedToken | null = null;
  // Shared by concurrent notices, so a burst of missed calls fetches one token, not one each.
  private pending: Promise<string> | null = null;

  constructor(private readonly options: WeChatSubscribeNotifierOptions) {
    for (const key of ['appId', 'appSecret', 'templateId'] as const)
      if (!options[key]) throw new Error(`WeChatSubscribeNotifier: \`${key}\` is required`);
    this.apiBase = (options.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  async missedCall(event: MissedCallEvent): Promise<NotifyResult> {
    const where = { cid: event.cid, callee: event.callee };
    try {
      const openid = await this.options.resolveOpenId(event.callee);
      if (!openid) {
        this.options.log?.info(where, 'missed-call notice skipped: no openid');
        return { status: 'skipped', reason: `no openid for "${event.callee}"` };
      }
      const body = this.messageFor(event, openid);
      let token = await this.accessToken();
      let reply = await this.send(token, body);
      if (TOKEN_ERRORS.has(reply.errcode)) {
        // Someone rotated it (or it expired early). Refresh once; a second failure is reported, not looped.
        this.invalidate(token);
        const fresh = await this.accessToken();
        if (fresh !== token) {
          token = fresh;
          reply = await this.send(token, body);
        }
      }
      if (reply.errcode === 0) {
        this.options.log?.info({ ...where, msgid: reply.msgid }, 'missed-call notice sent');
        return reply.msgid === undefined ? { status: 'sent' } : { status: 'sent', msgid: reply.msgid };
      }
      if (reply.errcode === USER_REFUSED) {
        this.options.log?.info({ ...where, errcode: reply.errcode }, 'missed-call notice refused by user');
        return { status: 'refused', errcode: reply.errcode, errmsg: reply.errmsg };
      }
      throw new WeChatApiError(reply.errcode, reply.errmsg);
    } catch (error) {
      const errcode = error instanceof WeChatApiError ? error.errcode : undefined;
      const errmsg = error instanceof Error ? error.message : String(error);
      this.options.log?.warn({ ...where, errcode, errmsg }, 'missed-call notice failed');
      return errcode === undefined ? { status: 'failed', errmsg } : { status: 'failed', errcode, errmsg };
    }
  }

  private messageFor(event: MissedCallEvent, openid: string): Record<string, unknown> {
    const { page, miniprogramState, lang } = this.options;
    const pagePath = typeof page === 'function' ? page(event) : page;
    return {
      touser: openid,
      template_id: this.options.templateId,
      ...(pagePath ? { page: pagePath } : {}),
      data: fitTemplateData(this.options.buildData(event)),
      ...(miniprogramState ? { miniprogram_state: miniprogramState } : {}),
      ...(lang ? { lang } : {}),
    };
  }

  private async send(
    token: string,
    body: Record<string, unknown>,
  ): Promise<{ errcode: number; errmsg: string; msgid?: string }> {
    const url = `${this.apiBase}/cgi-bin/message/subscribe/send?access_token=${encodeURIComponent(token)}`;
    const { json, text } = await this.request(url, { method: 'POST', body: JSON.stringify(body) });
    const errcode = typeof json.errcode === 'number' ? json.errcode : 0;
    // msgid is a 64-bit integer: JSON.parse would round it, so it is read from the raw text.
    const msgid = /"msgid"\s*:\s*"?(\d+)/.exec(text)?.[1];
    return { errcode, errmsg: typeof json.errmsg === 'string' ? json.errmsg : '', msgid };
  }

  private accessToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return Promise.resolve(this.cached.token);
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Drops the cached token if it is still `token`; a newer one fetched meanwhile is kept. */
  private invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = null;
  }

  private async fetchToken(): Promise<string> {
    const { appId, appSecret } = this.options;
    const { json } =
      this.options.tokenEndpoint === 'classic'
        ? await this.request(
            `${this.apiBase}/cgi-bin/token?${new URLSearchParams({
              grant_type: 'client_credential',
              appid: appId,
              secret: appSecret,
            })}`,
            { method: 'GET' },
          )
        : await this.request(`${this.apiBase}/cgi-bin/stable_token`, {
            method: 'POST',
            // Normal mode: force_refresh would invalidate the token for every other holder, and WeChat
            // allows it 20 times a day.
            body: JSON.stringify({
              grant_type: 'client_credential',
              appid: appId,
              secret: appSecret,
              force_refresh: false,
            }),
          });
    if (typeof json.access_token !== 'string' || !json.access_token) {
      const errcode = typeof json.errcode === 'number' ? json.errcode : undefined;
      const errmsg = typeof json.errmsg === 'string' ? json.errmsg : 'no access_token in reply';
      throw new WeChatApiError(errcode, `access token: ${errmsg}`);
    }
    const expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 7200;
    // WeChat rotates tokens 5 minutes before expiry (both old and new work meanwhile), so refresh inside that
    // window; for short lifetimes, at half-life.
    const margin = Math.min(300, expiresIn / 2);
    this.cached = { token: json.access_token, refreshAt: this.now() + (expiresIn - margin) * 1000 };
    return json.access_token;
  }

  private async request(
    url: string,
    init: { method: 'GET' | 'POST'; body?: string },
  ): Promise<{ json: Record<string, unknown>; text: string }> {
    const response = await fetch(url, {
      method: init.method,
      headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: init.body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new WeChatApiError(undefined, `HTTP ${response.status} from WeChat`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WeChatApiError(undefined, 'WeChat replied with non-JSON');
    }
    if (typeof json !== 'object' || json === null) throw new WeChatApiError(undefined, 'unexpected reply');
    return { json: json as Record<string, unknown>, text };
  }
}
