/** @jest-environment node */
/**
 * Account names are data, not keys: accounts named like Object.prototype's members call, answer, get URLs,
 * hang up and see their history like any other account.
 */
import type { RunningServer } from '../../server/index';
import { PROTOTYPE_NAMES } from '../helpers/accounts';
import { closeClients, connectClient, establishCall, fetchCalls, startTestServer } from '../helpers/server';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

describe('accounts named like Object.prototype members', () => {
  // First, while none of them is online.
  it('refuses a call to any of them while offline with 404, instead of finding the member', async () => {
    const caller = await connectClient(server, 'proto-caller');
    for (const name of PROTOTYPE_NAMES)
      await expect(caller.call({ type: 2, callee: name })).rejects.toMatchObject({ code: 404 });
  });

  it.each([
    ['__proto__', 'constructor'],
    ['toString', '__proto__'],
    ['hasOwnProperty', 'valueOf'],
  ])('%s calls %s: uids, URLs, hangup and history all work', async (callerName, calleeName) => {
    const caller = await connectClient(server, callerName);
    const callee = await connectClient(server, calleeName);
    const {
      cid,
      accountUidMap,
      rosterA: rosterCaller,
      rosterB: rosterCallee,
    } = await establishCall(caller, callee);

    expect(Object.keys(accountUidMap).sort()).toEqual([callerName, calleeName].sort());
    expect(Object.getOwnPropertyNames(accountUidMap)).toContain(callerName);
    expect(accountUidMap[callerName]).toMatch(/^\d+$/);
    for (const roster of [rosterCaller, rosterCallee]) {
      expect(roster.pusher?.url).toMatch(/^rtmp:\/\/.+\?sign=/);
      expect(roster.players).toHaveLength(1);
      for (const url of [roster.pusher!.url, roster.players[0].url, roster.players[0].flvUrl ?? ''])
        expect(url).not.toMatch(/undefined|null|NaN|\[object/);
    }
    expect(rosterCaller.players[0].account).toBe(calleeName);

    await caller.hangup();
    expect(await callee.next('hangup')).toMatchObject({ cid: cid, account: callerName });
    const { calls } = await fetchCalls(server, calleeName);
    expect(calls[0]).toMatchObject({ cid: cid, peer: callerName, outcome: 'completed' });
  });
});
