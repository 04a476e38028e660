/** @jest-environment node */
/**
 * Call history, the /api/calls route and the missed-call notifier, each on its own: the history in memory,
 * the route on a bare http server, the notifier against a local stand-in for api.weixin.qq.com. The path
 * through signalling (hangup → record → notice) is tested end to end where the server wires them in.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import jwt from 'jsonwebtoken';
import { TokenVerifier, mintToken } from '../../server/auth/tokens';
import {
  MemoryCallHistory,
  callRecordFrom,
  createCallEndReporter,
  type CallHistory,
  type CallOutcome,
  type CallRecord,
} from '../../server/history';
import { createCallsRoute } from '../../server/http/calls';
import {
  WeChatSubscribeNotifier,
  fitTemplateData,
  fitTemplateValue,
  formatWeChatTime,
  type MissedCallEvent,
  type Notifier,
  type WeChatSubscribeNotifierOptions,
} from '../../server/notify';
import { startWeChatStandin, type WeChatStandin } from '../helpers/wechat-standin';

const SECRET = 'history-test-secret-0123456789-0123456789-ab';
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

function entry(cid: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    cid,
    caller: 'alice',
    callee: 'bob',
    type: 2,
    startedAt: T0,
    answeredAt: T0 + 2000,
    endedAt: T0 + 62000,
    duration: 60,
    outcome: 'completed',
    endedBy: 'alice',
    ...overrides,
  };
}

const silentLog = () => ({ info: jest.fn(), warn: jest.fn() });

describe('MemoryCallHistory', () => {
  it('shows one call to both parties, newest first', () => {
    const history = new MemoryCallHistory();
    history.record(entry('c1', { startedAt: T0 }));
    history.record(entry('c2', { startedAt: T0 + 1000, caller: 'bob', callee: 'alice' }));
    expect(history.list('alice').map((e) => e.cid)).toEqual(['c2', 'c1']);
    expect(history.list('bob').map((e) => e.cid)).toEqual(['c2', 'c1']);
    expect(history.list('alice')[0]).toEqual(history.list('bob')[0]);
    expect(history.list('carol')).toEqual([]);
  });

  it('keeps at most perAccount calls per account, dropping the oldest', () => {
    const history = new MemoryCallHistory({ perAccount: 3 });
    for (let i = 1; i <= 5; i++) history.record(entry(`c${i}`, { startedAt: T0 + i }));
    history.record(entry('other', { caller: 'carol', callee: 'dave' }));
    expect(history.list('alice').map((e) => e.cid)).toEqual(['c5', 'c4', 'c3']);
    expect(history.list('bob')).toHaveLength(3);
    expect(history.list('carol').map((e) => e.cid)).toEqual(['other']);
    expect(history.list('alice', 2).map((e) => e.cid)).toEqual(['c5', 'c4']);
  });

  it('defaults to 50 per account and refuses a cap below 1', () => {
    const history = new MemoryCallHistory();
    for (let i = 0; i < 60; i++) history.record(entry(`c${i}`, { startedAt: T0 + i }));
    expect(history.list('alice')).toHaveLength(50);
    expect(history.list('alice')[0].cid).toBe('c59');
    expect(() => new MemoryCallHistory({ perAccount: 0 })).toThrow(RangeError);
  });

  it('orders by call start even when records arrive out of order', () => {
    const history = new MemoryCallHistory();
    history.record(entry('late', { startedAt: T0 + 500 }));
    history.record(entry('early', { startedAt: T0 }));
    expect(history.list('alice').map((e) => e.cid)).toEqual(['late', 'early']);
  });

  it('replaces a cid recorded twice instead of listing it twice', () => {
    const history = new MemoryCallHistory();
    history.record(entry('c1', { outcome: 'completed' }));
    history.record(entry('c1', { outcome: 'failed' }));
    expect(history.list('bob')).toEqual([expect.objectContaining({ cid: 'c1', outcome: 'failed' })]);
  });

  it('hands out copies that cannot edit what it stores', () => {
    const history = new MemoryCallHistory();
    const original = entry('c1');
    history.record(original);
    original.outcome = 'missed';
    history.list('alice')[0].outcome = 'busy';
    expect(history.list('bob')[0].outcome).toBe('completed');
  });
});

describe('callRecordFrom', () => {
  const ringing = { cid: 'c', caller: 'alice', callee: 'bob', type: 1 as const, phase: 'ringing' as const };

  it.each<[string, string, CallOutcome]>([
    ['the caller', 'alice', 'canceled'],
    ['the callee', 'bob', 'rejected'],
    ['the server', '', 'missed'],
  ])('infers the outcome of a ringing call ended by %s', (_who, endedBy, outcome) => {
    const record = callRecordFrom({ ...ringing, createdAt: T0 }, { endedBy, endedAt: T0 + 30000 });
    expect(record).toEqual({
      cid: 'c',
      caller: 'alice',
      callee: 'bob',
      type: 1,
      startedAt: T0,
      answeredAt: null,
      endedAt: T0 + 30000,
      duration: 0,
      outcome,
      endedBy,
    });
  });

  it('counts whole seconds from the answer for an accepted call, and takes an explicit outcome', () => {
    const accepted = { ...ringing, phase: 'accepted' as const, createdAt: T0, answeredAt: T0 + 5000 };
    expect(callRecordFrom(accepted, { endedBy: 'bob', endedAt: T0 + 5000 + 61999 })).toMatchObject({
      answeredAt: T0 + 5000,
      duration: 61,
      outcome: 'completed',
    });
    expect(
      callRecordFrom({ ...ringing, createdAt: T0 }, { endedBy: 'alice', endedAt: T0 + 1, outcome: 'failed' }),
    ).toMatchObject({ outcome: 'failed' });
  });
});

describe('createCallEndReporter', () => {
  it('records every ended call and sends a notice only for calls the callee missed', async () => {
    const history = new MemoryCallHistory();
    const notifier: Notifier = { missedCall: jest.fn(async () => ({ status: 'sent' as const })) };
    // No throttle: every outcome here is the same pair, and this test is about which outcomes count.
    const reporter = createCallEndReporter({ history, notifier, log: silentLog(), noticeIntervalMs: 0 });
    const outcomes: CallOutcome[] = ['completed', 'missed', 'rejected', 'busy', 'canceled', 'failed'];
    outcomes.forEach((outcome, i) => reporter.callEnded(entry(outcome, { outcome, startedAt: T0 + i })));
    // A memory history holds the record as soon as callEnded returns.
    expect(history.list('bob')).toHaveLength(6);
    await reporter.settled();
    expect(jest.mocked(notifier.missedCall).mock.calls.map(([event]) => event.cid)).toEqual([
      'missed',
      'canceled',
    ]);
    expect(notifier.missedCall).toHaveBeenCalledWith({
      callee: 'bob',
      caller: 'alice',
      type: 2,
      cid: 'missed',
      at: T0 + 1,
    });
  });

  it('never throws into signalling when the history throws or the notifier rejects', async () => {
    const log = silentLog();
    const broken: CallHistory = {
      record: () => {
        throw new Error('disk full');
      },
      list: () => [],
    };
    const asyncBroken: CallHistory = {
      record: () => Promise.reject(new Error('redis down')),
      list: () => [],
    };
    const notifier: Notifier = { missedCall: () => Promise.reject(new Error('boom')) };
    for (const history of [broken, asyncBroken]) {
      const reporter = createCallEndReporter({ history, notifier, log });
      expect(() => reporter.callEnded(entry('c', { outcome: 'missed' }))).not.toThrow();
      await reporter.settled();
    }
    const messages = log.warn.mock.calls.map(([obj, msg]) => `${msg}: ${(obj as { err: string }).err}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'call history: record failed: disk full',
        'call history: record failed: redis down',
        'missed-call notice failed: boom',
      ]),
    );
  });
});

describe('GET /api/calls', () => {
  let server: Server;
  let base: string;
  const history = new MemoryCallHistory();

  beforeAll(async () => {
    const route = createCallsRoute({ tokens: new TokenVerifier({ secret: SECRET }), history });
    server = createServer((req, res) => {
      void route(req, res).then((handled) => {
        if (handled) return;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 404, message: 'fell through' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    history.record(entry('c1', { startedAt: T0 }));
    history.record(entry('c2', { startedAt: T0 + 1000, caller: 'bob', callee: 'alice', outcome: 'missed' }));
    history.record(entry('c3', { startedAt: T0 + 2000, caller: 'carol', callee: 'dave' }));
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, token?: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it("lists the account's own calls, newest first, with direction and peer from its side", async () => {
    const res = await get('/api/calls', mintToken(SECRET, 'alice'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { calls } = (await res.json()) as { calls: Record<string, unknown>[] };
    expect(calls).toEqual([
      expect.objectContaining({ cid: 'c2', direction: 'incoming', peer: 'bob', outcome: 'missed' }),
      expect.objectContaining({ cid: 'c1', direction: 'outgoing', peer: 'bob', duration: 60 }),
    ]);
    const bob = (await (await get('/api/calls', mintToken(SECRET, 'bob'))).json()) as {
      calls: { cid: string; direction: string; peer: string }[];
    };
    expect(bob.calls.map((c) => [c.cid, c.direction, c.peer])).toEqual([
      ['c2', 'outgoing', 'alice'],
      ['c1', 'incoming', 'alice'],
    ]);
    const erin = await (await get('/api/calls', mintToken(SECRET, 'erin'))).json();
    expect(erin).toEqual({ calls: [] });
  });

  it('honours ?limit=N', async () => {
    const res = await get('/api/calls?limit=1', mintToken(SECRET, 'alice'));
    expect(((await res.json()) as { calls: { cid: string }[] }).calls.map((c) => c.cid)).toEqual(['c2']);
  });

  it.each(['0', '101', 'abc', '1.5', '-1', '', '1e2'])('answers 400 for limit=%p', async (limit) => {
    const res = await get(`/api/calls?limit=${limit}`, mintToken(SECRET, 'alice'));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 400, message: expect.stringContaining('limit') });
  });

  it('answers 401 without a token, with a forged or expired one, or with another scheme', async () => {
    const forged = jwt.sign({}, 'not-the-secret', { algorithm: 'HS256', subject: 'alice', expiresIn: 60 });
    const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { subject: 'alice' });
    const unsigned = jwt.sign({}, '', { algorithm: 'none', subject: 'alice', expiresIn: 60 });
    for (const token of [undefined, forged, expired, unsigned, 'garbage']) {
      const res = await get('/api/calls', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toEqual({ code: 401, message: expect.any(String) });
    }
    const basic = await fetch(`${base}/api/calls`, { headers: { authorization: 'Basic YWxpY2U6eA==' } });
    expect(basic.status).toBe(401);
    const expiredBody = (await (await get('/api/calls', expired)).json()) as { message: string };
    expect(expiredBody.message).toBe('token expired');
  });

  it('answers 405 to other methods and leaves other paths to the next route', async () => {
    const post = await get('/api/calls', mintToken(SECRET, 'alice'), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    const other = await get('/api/callsx', mintToken(SECRET, 'alice'));
    expect(await other.json()).toEqual({ code: 404, message: 'fell through' });
  });
});

describe('fitTemplateValue', () => {
  it("cuts values to WeChat's per-type limits, counting characters, not bytes", () => {
    expect(fitTemplateValue('thing1', 'a'.repeat(30))).toBe(`${'a'.repeat(19)}…`);
    expect(fitTemplateValue('thing1', '张'.repeat(20))).toBe('张'.repeat(20));
    expect(fitTemplateValue('thing2', '  two\nlines  ')).toBe('two lines');
    expect(fitTemplateValue('character_string3', 'x'.repeat(40))).toBe('x'.repeat(32));
    expect(fitTemplateValue('phrase4', '未接来电提醒您')).toBe('未接来电提');
    expect(fitTemplateValue('name5', 'a'.repeat(25))).toHaveLength(20);
    expect(fitTemplateValue('name5', '张'.repeat(12))).toHaveLength(10);
    expect(fitTemplateValue('time6', '2026-01-02 11:04')).toBe('2026-01-02 11:04');
    expect(fitTemplateValue('number7', 12345)).toBe('12345');
  });

  it('treats keys named like Object.prototype members as template keys', () => {
    // Without a Map, `constructor1` would look up Object's constructor and come out empty.
    expect(fitTemplateValue('constructor1', 'kept')).toBe('kept');
    const data = fitTemplateData(JSON.parse('{"__proto__": "a", "thing1": "b"}') as Record<string, string>);
    expect(Object.keys(data)).toEqual(['__proto__', 'thing1']);
    expect(JSON.parse(JSON.stringify(data))).toEqual(
      JSON.parse('{"__proto__": {"value": "a"}, "thing1": {"value": "b"}}'),
    );
  });

  it('formats times in China time regardless of the server time zone', () => {
    expect(formatWeChatTime(T0)).toBe('2026-01-02 11:04');
    expect(formatWeChatTime(T0, 0)).toBe('2026-01-02 03:04');
  });
});

describe('WeChatSubscribeNotifier', () => {
  let wechat: WeChatStandin;
  const openids = new Map([
    ['bob', 'oBob_openid_123'],
    ['carol', 'oCarol_openid_456'],
  ]);
  const event: MissedCallEvent = { callee: 'bob', caller: 'alice', type: 2, cid: 'cid-1', at: T0 };

  beforeEach(async () => {
    wechat = await startWeChatStandin({ refusedOpenIds: ['oCarol_openid_456'] });
  });
  afterEach(() => wechat.close());

  const notifier = (overrides: Partial<WeChatSubscribeNotifierOptions> = {}) =>
    new WeChatSubscribeNotifier({
      apiBase: wechat.apiBase,
      appId: wechat.appId,
      appSecret: wechat.appSecret,
      templateId: wechat.templateId,
      page: (e) => `pages/calls/index?cid=${e.cid}`,
      miniprogramState: 'developer',
      lang: 'zh_CN',
      resolveOpenId: async (account) => openids.get(account) ?? null,
      buildData: (e) => ({
        thing1: e.caller,
        time2: formatWeChatTime(e.at),
        phrase3: e.type === 2 ? '视频通话' : '语音通话',
      }),
      log: silentLog(),
      ...overrides,
    });

  const SEND = '/cgi-bin/message/subscribe/send';

  it('fetches a stable token and sends the documented subscribe message', async () => {
    const result = await notifier().missedCall(event);
    expect(result).toEqual({ status: 'sent', msgid: expect.stringMatching(/^\d{18}$/) });
    expect(wechat.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /cgi-bin/stable_token',
      `POST ${SEND}`,
    ]);
    expect(wechat.requests[0].body).toEqual({
      grant_type: 'client_credential',
      appid: wechat.appId,
      secret: wechat.appSecret,
      force_refresh: false,
    });
    const [send] = wechat.requestsTo(SEND);
    expect(send.query.access_token).toBe(wechat.requests[0].reply.access_token);
    expect(send.body).toEqual({
      touser: 'oBob_openid_123',
      template_id: wechat.templateId,
      page: 'pages/calls/index?cid=cid-1',
      miniprogram_state: 'developer',
      lang: 'zh_CN',
      data: {
        thing1: { value: 'alice' },
        time2: { value: '2026-01-02 11:04' },
        phrase3: { value: '视频通话' },
      },
    });
    // The 64-bit msgid survives: JSON.parse would have rounded it.
    expect(result.status === 'sent' && result.msgid).toBe(send.reply.msgid);
  });

  it('can use the classic getAccessToken endpoint with its query parameters', async () => {
    expect(await notifier({ tokenEndpoint: 'classic' }).missedCall(event)).toMatchObject({ status: 'sent' });
    const [token] = wechat.requestsTo('/cgi-bin/token');
    expect(token.method).toBe('GET');
    expect(token.query).toEqual({
      grant_type: 'client_credential',
      appid: wechat.appId,
      secret: wechat.appSecret,
    });
  });

  it('reuses the token until shortly before it expires, and shares one fetch between concurrent notices', async () => {
    let now = T0;
    const n = notifier({ now: () => now });
    await Promise.all([n.missedCall(event), n.missedCall(event), n.missedCall(event)]);
    await n.missedCall(event);
    expect(wechat.requestsTo('/cgi-bin/stable_token')).toHaveLength(1);
    expect(wechat.requestsTo(SEND)).toHaveLength(4);
    now += (7200 - 299) * 1000; // inside the 5 minutes in which WeChat rotates it
    expect(await n.missedCall(event)).toMatchObject({ status: 'sent' });
    expect(wechat.requestsTo('/cgi-bin/stable_token')).toHaveLength(2);
  });

  it('refreshes the token once and retries when WeChat answers 40001', async () => {
    const n = notifier();
    await n.missedCall(event);
    wechat.rotateToken(); // someone else refreshed it
    expect(await n.missedCall(event)).toMatchObject({ status: 'sent' });
    const sends = wechat.requestsTo(SEND);
    expect(sends.map((r) => r.reply.errcode)).toEqual([0, 40001, 0]);
    expect(sends[2].query.access_token).not.toBe(sends[1].query.access_token);
    expect(wechat.requestsTo('/cgi-bin/stable_token')).toHaveLength(2);
  });

  it('reports a refusal (43101) without retrying', async () => {
    const result = await notifier().missedCall({ ...event, callee: 'carol' });
    expect(result).toEqual({ status: 'refused', errcode: 43101, errmsg: expect.any(String) });
    expect(wechat.requestsTo(SEND)).toHaveLength(1);
    expect(wechat.delivered()).toHaveLength(0);
  });

  it('cuts long values to fit the template instead of failing with 47003', async () => {
    const long = 'a-very-long-account.name@example.com';
    expect(await notifier().missedCall({ ...event, caller: long })).toMatchObject({ status: 'sent' });
    expect(wechat.delivered()[0].data.thing1.value).toBe(`${long.slice(0, 19)}…`);
  });

  it('skips an account without an openid and never calls WeChat for it', async () => {
    const result = await notifier().missedCall({ ...event, callee: 'nobody' });
    expect(result).toEqual({ status: 'skipped', reason: expect.stringContaining('nobody') });
    expect(wechat.requests).toHaveLength(0);
  });

  it('returns failures instead of throwing, and never logs secrets or tokens', async () => {
    const log = silentLog();
    const badSecret = await notifier({ appSecret: 'wrong', log }).missedCall(event);
    expect(badSecret).toEqual({ status: 'failed', errcode: 40125, errmsg: expect.stringContaining('token') });

    wechat.failNextSends(-1, 'system error');
    expect(await notifier({ log }).missedCall(event)).toEqual({
      status: 'failed',
      errcode: -1,
      errmsg: 'system error',
    });

    const throwing = notifier({
      log,
      resolveOpenId: () => {
        throw new Error('directory down');
      },
    });
    expect(await throwing.missedCall(event)).toEqual({ status: 'failed', errmsg: 'directory down' });

    const offline = await startWeChatStandin();
    await offline.close();
    const unreachable = await notifier({ apiBase: offline.apiBase, log, timeoutMs: 2000 }).missedCall(event);
    expect(unreachable).toMatchObject({ status: 'failed' });

    const logged = JSON.stringify([log.info.mock.calls, log.warn.mock.calls]);
    expect(logged).not.toContain(wechat.appSecret);
    expect(logged).not.toContain('ACCESS_TOKEN');
    expect(logged).not.toContain('oBob_openid');
  });
});
