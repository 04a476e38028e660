/** @jest-environment node */
/**
 * Tokens against the real server: what a token must carry, how long it may live, aud/iss when configured, a
 * session that ends at its token's `exp` unless renewed (with `tokenWillExpire` ahead of it), and a kicked
 * account that cannot come straight back with the token it holds.
 */
import jwt from 'jsonwebtoken';
import type { RunningServer } from '../../server/index';
import { TokenVerifier, mintToken } from '../../server/auth/tokens';
import { TEST_SECRET, closeClients, createClient, startTestServer } from '../helpers/server';
import { closeOf, rawSocket } from '../helpers/ws-socket';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ maxTokenLifetimeSeconds: 3600, tokenAudience: 'rtc', tokenIssuer: 'biz' });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sign = (payload: object, options: jwt.SignOptions = {}) =>
  jwt.sign(payload, TEST_SECRET, { algorithm: 'HS256', audience: 'rtc', issuer: 'biz', ...options });
const good = (account: string, ttl = 600) => sign({}, { subject: account, expiresIn: ttl });

async function refusal(account: string, token: string): Promise<{ code: number; message: string }> {
  const client = createClient(server, account, { token });
  const error = await client.connect().then(
    () => {
      throw new Error(`${account}: a bad token was accepted`);
    },
    (e: { code: number; message: string }) => e,
  );
  expect(await client.next('disconnect')).toMatchObject({ code: 401 });
  return error;
}

describe('what a token must be', () => {
  it('refuses a non-string or malformed sub, a missing exp, a too-long lifetime, and wrong aud/iss', async () => {
    const cases: [string, string, RegExp][] = [
      ['numeric sub', sign({ sub: 42 }, { expiresIn: 600 }), /sub/],
      ['sub with spaces', sign({}, { subject: 'no spaces', expiresIn: 600 }), /sub/],
      ['no exp', sign({}, { subject: 'tok-a' }), /exp/],
      ['lifetime over the maximum', sign({}, { subject: 'tok-a', expiresIn: 3601 }), /lifetime/],
      [
        'lifetime over the maximum, no iat',
        sign({ exp: nowSeconds() + 7200 }, { subject: 'tok-a', noTimestamp: true }),
        /lifetime/,
      ],
      ['no aud', jwt.sign({}, TEST_SECRET, { subject: 'tok-a', expiresIn: 600, issuer: 'biz' }), /audience/],
      ['wrong iss', sign({}, { subject: 'tok-a', expiresIn: 600, issuer: 'evil' }), /issuer/],
      [
        'iat a year ahead (to stretch the lifetime)',
        sign({ iat: nowSeconds() + 365 * 24 * 3600 }, { subject: 'tok-a', expiresIn: 600 }),
        /future/,
      ],
    ];
    for (const [what, token, reason] of cases) {
      const error = await refusal('tok-a', token);
      expect([what, error.code, error.message]).toEqual([what, 401, expect.stringMatching(reason)]);
      // What the server expects is not told to whoever presents a token.
      expect(error.message).not.toMatch(/rtc|biz/);
    }
    // Control: the same account with a token that meets every rule logs in.
    const client = createClient(server, 'tok-a', { token: good('tok-a', 3600) });
    await client.connect();
    expect(client.isConnected).toBe(true);
  });

  it('applies the default 30-day maximum when none is configured', () => {
    const verifier = new TokenVerifier({ secret: TEST_SECRET });
    expect(() => verifier.verify(mintToken(TEST_SECRET, 'a', 31 * 24 * 3600))).toThrow(/lifetime/);
    expect(verifier.verify(mintToken(TEST_SECRET, 'a', 29 * 24 * 3600)).account).toBe('a');
  });
});

describe('a session lives as long as its token', () => {
  it('ends at exp with 4401 (disconnect 401), ending its call; a renewed session goes on', async () => {
    // exp 6 to 7 s ahead, the warning 3 to 4 s before it (4 s, or half the token's life if that is shorter):
    // the setup before exp, and the three renewals after the warning, each fit with seconds to spare when loaded.
    const exp = nowSeconds() + 7;
    const expiring = (account: string) =>
      createClient(server, account, { token: sign({ exp }, { subject: account }), tokenWarning: 4000 });
    const lapsing = expiring('tok-lapsing');
    const renewing = expiring('tok-renewing');
    const peer = createClient(server, 'tok-peer', { token: good('tok-peer') });
    await peer.connect();
    await Promise.all([lapsing.connect(), renewing.connect()]);
    const { cid } = await lapsing.call({ type: 2, callee: 'tok-peer' });
    await peer.next('beCalling');
    await peer.response({ accepted: true, caller: 'tok-lapsing', type: 2, cid });

    // Both are warned ahead of exp; only one renews.
    expect(await renewing.next('tokenWillExpire', 8000)).toEqual({ exp });
    expect(await lapsing.next('tokenWillExpire', 8000)).toEqual({ exp });
    await expect(renewing.renewToken(good('tok-peer'))).rejects.toMatchObject({ code: 403 });
    await expect(renewing.renewToken('garbage')).rejects.toMatchObject({ code: 401 });
    await renewing.renewToken(good('tok-renewing'));

    expect(await lapsing.next('disconnect', 10_000)).toMatchObject({ code: 401 });
    expect(await peer.next('hangup')).toMatchObject({ cid, account: 'tok-lapsing' });
    // By now exp has passed for both: the renewed session still works.
    await expect(renewing.call({ type: 2, callee: 'tok-nobody' })).rejects.toMatchObject({ code: 404 });
    expect(renewing.isConnected).toBe(true);
    expect(renewing.seen('disconnect')).toEqual([]);
  });
});

describe('kick', () => {
  it('refuses the kicked account the token it holds, and accepts one minted after the kick', async () => {
    const held = good('tok-kicked');
    const client = createClient(server, 'tok-kicked', { token: held });
    await client.connect();
    expect(server.kick('tok-kicked')).toBe(1);
    expect(await client.next('kicked')).toMatchObject({ reason: expect.any(String) });
    expect(await refusal('tok-kicked', held)).toMatchObject({ message: expect.stringContaining('revoked') });
    // Another account's tokens are untouched by the kick.
    const bystander = createClient(server, 'tok-bystander', { token: good('tok-bystander') });
    await bystander.connect();
    // A token issued after the kick (a later second) logs in again.
    const fresh = sign({ iat: nowSeconds() + 1 }, { subject: 'tok-kicked', expiresIn: 600 });
    const back = createClient(server, 'tok-kicked', { token: fresh });
    await back.connect();
    expect(back.isConnected).toBe(true);
  });

  it('stops handling a kicked session at once, even frames it sends before it sees the close', async () => {
    const callee = createClient(server, 'tok-k-callee', { token: good('tok-k-callee') });
    await callee.connect();
    const raw = await rawSocket(server.url);
    raw.sendText(JSON.stringify({ seq: 1, op: 'login', args: { token: good('tok-k-raw') } }));
    expect(await raw.next()).toMatchObject({ seq: 1, code: 200 });
    // Control: before the kick, its call rings.
    raw.sendText(JSON.stringify({ seq: 2, op: 'call', args: { type: 1, callee: 'tok-k-callee' } }));
    const first = (await raw.next()) as { data: { cid: string } };
    expect(await callee.next('beCalling')).toMatchObject({ caller: 'tok-k-raw', cid: first.data.cid });
    const closed = closeOf(raw.socket);
    // A reason longer than a close frame can carry, in a script where cutting by characters is not enough.
    server.kick('tok-k-raw', '账号在别处登录，已被服务器踢下线'.repeat(4));
    // Sent before this client has read its close frame: the server must not act on it.
    raw.sendText(JSON.stringify({ seq: 3, op: 'call', args: { type: 1, callee: 'tok-k-callee' } }));
    expect(await closed).toBe(4403);
    // The first call ended with the kick; once that hangup is here, a second beCalling would have been too.
    expect(await callee.next('hangup')).toMatchObject({ cid: first.data.cid });
    await expect(callee.call({ type: 1, callee: 'tok-nobody' })).rejects.toMatchObject({ code: 404 });
    expect(callee.seen('beCalling')).toHaveLength(1);
  });
});
