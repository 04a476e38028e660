/**
 * CallSession's clock-driven rules under fake timers, with a scripted NetcallLike (the real server is
 * covered by test/integration/call-*.test.ts): the 30 s defaults, the in-call timer, and the guards.
 */
import { CallSession, type CallRecord, type CallSnapshot } from '../../services/call';
import { Emitter, type NetcallEvents, type NetcallLike } from '../../services/netcall';
import type { Timers } from '../../services/platform';

class ScriptedNetcall extends Emitter<NetcallEvents> implements NetcallLike {
  readonly account = 'me';
  sent: { op: string; args: unknown }[] = [];
  call = jest.fn(async (args: unknown) => {
    this.sent.push({ op: 'call', args });
    return { cid: 'c1', accountUidMap: { me: '1', peer: '2' } };
  });
  response = jest.fn(async (args: unknown) => void this.sent.push({ op: 'response', args }));
  hangup = jest.fn(async (args: unknown) => void this.sent.push({ op: 'hangup', args }));
  control = jest.fn(async (args: unknown) => void this.sent.push({ op: 'control', args }));
  startRtc = jest.fn(async () => ({ uid: '1', account: 'me', cid: 'c1' }));
  // Rooms are not a 1:1 call's business: a session that used them here would be a bug.
  createChannel = jest.fn(async (): Promise<never> => {
    throw new Error('createChannel in a 1:1 call');
  });
  joinChannel = jest.fn(async (): Promise<never> => {
    throw new Error('joinChannel in a 1:1 call');
  });
  leaveChannel = jest.fn(async () => undefined);
  inviteToCall = jest.fn(async () => undefined);
}

const fakeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  now: () => Date.now(),
};

function setup() {
  const netcall = new ScriptedNetcall();
  const session = new CallSession({
    netcall,
    timers: fakeTimers,
    checkPermissions: async () => ({ granted: true }),
  });
  const records: CallRecord[] = [];
  const changes: Partial<CallSnapshot>[] = [];
  session.on('callEnded', (r) => records.push(r));
  session.on('change', (c) => changes.push(c));
  return { netcall, session, records, changes };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('CallSession timers', () => {
  it('gives up dialing after 30 s by default and tells the server why', async () => {
    const { netcall, session, records } = setup();
    await session.call('peer', 2);
    jest.advanceTimersByTime(29999);
    expect(session.phase).toBe('dialing');
    jest.advanceTimersByTime(1);
    expect(records).toEqual([expect.objectContaining({ reason: 'caller-timeout', cid: 'c1' })]);
    expect(netcall.sent.at(-1)).toEqual({ op: 'hangup', args: { cid: 'c1', reason: 'timeout' } });
  });

  it('stops ringing after 30 s by default and refuses the call with the timeout hint', () => {
    const { netcall, records } = setup();
    netcall.emit('beCalling', { caller: 'peer', type: 1, cid: 'c7' });
    jest.advanceTimersByTime(30000);
    expect(records.map((r) => r.reason)).toEqual(['callee-timeout']);
    expect(netcall.sent.at(-1)).toMatchObject({
      op: 'response',
      args: { accepted: false, reason: 'timeout' },
    });
  });

  it('ticks the in-call duration once per second, and nothing else changes per tick', async () => {
    const { netcall, session, changes, records } = setup();
    netcall.emit('beCalling', { caller: 'peer', type: 2, cid: 'c1' });
    await session.accept();
    netcall.emit('syncDone', {
      code: 200,
      errmsg: '',
      cid: 'c1',
      userlist: [
        { account: 'me', uid: '1', mode: 0, url: 'rtmp://x/live/c1_1?sign=1-a' },
        { account: 'peer', uid: '2', mode: 0, url: 'rtmp://x/live/c1_2?sign=1-b' },
      ],
    });
    expect(session.phase).toBe('in-call');
    changes.length = 0;
    jest.advanceTimersByTime(5000);
    expect(changes).toEqual([1, 2, 3, 4, 5].map((duration) => ({ duration })));
    await session.hangup();
    expect(records[0]).toMatchObject({ reason: 'local-hangup', duration: 5, direction: 'incoming' });
    jest.advanceTimersByTime(5000);
    expect(changes.filter((c) => 'duration' in c)).toHaveLength(5); // the ticker stopped with the call
  });

  it('ignores events of other calls and answers a second caller with BUSY', async () => {
    const { netcall, session } = setup();
    await session.call('peer', 2);
    netcall.emit('hangup', { cid: 'other', account: 'x', timetag: 1 });
    netcall.emit('beCalling', { caller: 'someone', type: 2, cid: 'c2' });
    await jest.advanceTimersByTimeAsync(0);
    expect(session.phase).toBe('dialing');
    expect(netcall.sent.slice(-2)).toEqual([
      { op: 'control', args: { command: 9, cid: 'c2' } },
      { op: 'response', args: { accepted: false, caller: 'someone', type: 2, cid: 'c2', reason: 'busy' } },
    ]);
  });

  it('refuses operations in the wrong phase', async () => {
    const { session } = setup();
    await expect(session.reject()).rejects.toMatchObject({ code: 409 });
    await expect(session.requestSwitch(1)).rejects.toMatchObject({ code: 409 });
    await session.call('peer');
    await expect(session.call('peer')).rejects.toMatchObject({
      code: 409,
      message: expect.stringContaining('dialing'),
    });
  });
});

describe('CallSession: status codes a person can see', () => {
  async function inCall() {
    const context = setup();
    context.netcall.emit('beCalling', { caller: 'peer', type: 2, cid: 'c1' });
    await context.session.accept();
    context.netcall.emit('syncDone', {
      code: 200,
      errmsg: '',
      cid: 'c1',
      userlist: [
        { account: 'me', uid: '1', mode: 0, url: 'rtmp://x/live/c1_1?sign=1-a' },
        { account: 'peer', uid: '2', mode: 0, url: 'rtmp://x/live/c1_2?sign=1-b' },
      ],
    });
    expect(context.session.phase).toBe('in-call');
    context.netcall.sent.length = 0;
    return context;
  }

  it('ends the call when the microphone fails, with a reason and the code, and tells the peer', async () => {
    const { netcall, session, records } = await inCall();
    expect(await session.onMediaState({ source: 'pusher', uid: '1', code: -1302 })).toBe('microphone-failed');
    expect(records).toEqual([expect.objectContaining({ reason: 'microphone-failed', errorCode: -1302 })]);
    expect(netcall.sent).toEqual([{ op: 'hangup', args: { cid: 'c1' } }]);
  });

  it('restarts a failed encoder once, and ends the call when it fails again', async () => {
    const { netcall, session, records } = await inCall();
    const actions: string[] = [];
    session.on('mediaAction', (event) => actions.push(`${event.source}:${event.action}`));
    expect(await session.onMediaState({ source: 'pusher', uid: '1', code: -1303 })).toBe('restart');
    expect(actions).toEqual(['pusher:restart']);
    expect(session.phase).toBe('in-call');
    expect(await session.onMediaState({ source: 'pusher', uid: '1', code: -1304 })).toBe('media-failed');
    expect(actions).toHaveLength(1);
    expect(records).toEqual([expect.objectContaining({ reason: 'media-failed', errorCode: -1304 })]);
    expect(netcall.sent).toEqual([{ op: 'hangup', args: { cid: 'c1' } }]);
  });

  it.each([
    [10001, 'scope.camera'],
    [10002, 'scope.record'],
  ] as const)(
    'runs the permission flow on binderror %i: ends as permission-denied for %s',
    async (code, scope) => {
      const { netcall, session, records } = await inCall();
      expect(await session.onMediaState({ source: 'pusher', uid: '1', code })).toBe(
        code === 10001 ? 'permission-camera' : 'permission-record',
      );
      expect(records).toEqual([expect.objectContaining({ reason: 'permission-denied' })]);
      expect(session.snapshot().deniedScope).toBe(scope);
      expect(netcall.sent).toEqual([{ op: 'hangup', args: { cid: 'c1' } }]);
    },
  );

  it('puts each hint on its tile in the snapshot, and clears them with the call', async () => {
    const { session, changes } = await inCall();
    changes.length = 0;
    await session.onMediaState({ source: 'player', uid: '2', code: 2105 });
    await session.onMediaState({ source: 'pusher', uid: '1', code: 1102 });
    expect(changes).toEqual([
      { hints: { '2': 'poor-network' } },
      { hints: { '2': 'poor-network', '1': 'reconnecting' } },
    ]);
    await session.hangup();
    expect(session.snapshot().hints).toEqual({});
  });

  it('rebinds the pusher and the peer player after a second syncDone with moved URLs', async () => {
    const { netcall, session, records } = await inCall();
    const actions: string[] = [];
    session.on('mediaAction', (event) => actions.push(`${event.source}:${event.action}`));
    await session.onMediaState({ source: 'player', uid: '2', code: -2301 }); // its one replay, spent
    // A failover: the call resumed on another node, its media on another media server.
    netcall.emit('syncDone', {
      code: 200,
      errmsg: '',
      cid: 'c1',
      userlist: [
        { account: 'me', uid: '1', mode: 0, url: 'rtmp://y/live/c1_1?sign=2-a' },
        { account: 'peer', uid: '2', mode: 0, url: 'rtmp://y/live/c1_2?sign=2-b' },
      ],
    });
    expect(session.roster.pusher?.url).toBe('rtmp://y/live/c1_1?sign=2-a');
    expect(session.roster.players.map((user) => user.url)).toEqual(['rtmp://y/live/c1_2?sign=2-b']);
    expect(session.phase).toBe('in-call');
    // The new URL starts afresh: the player gets a replay again rather than a fresh-URL request.
    await session.onMediaState({ source: 'player', uid: '2', code: -2301 });
    expect(actions).toEqual(['player:replay', 'player:replay']);
    expect(records).toEqual([]);
  });

  it('ignores codes with no call going on', async () => {
    const { session, changes, records } = setup();
    expect(await session.onMediaState({ source: 'pusher', uid: '1', code: -1302 })).toBe('none');
    expect(changes).toEqual([]);
    expect(records).toEqual([]);
  });

  it('answers a video call as voice: the microphone only, my camera off, the caller told to switch', async () => {
    const netcall = new ScriptedNetcall();
    const asked: number[] = [];
    const session = new CallSession({
      netcall,
      timers: fakeTimers,
      checkPermissions: async (type) => {
        asked.push(type);
        return { granted: true };
      },
    });
    netcall.emit('beCalling', { caller: 'peer', type: 2, cid: 'c1' });
    await session.accept({ type: 1 });
    expect(asked).toEqual([1]);
    expect(netcall.sent).toEqual([
      { op: 'response', args: { accepted: true, caller: 'peer', type: 2, cid: 'c1' } },
      { op: 'control', args: { command: 8, cid: 'c1' } },
    ]);
    expect(netcall.startRtc).toHaveBeenCalledWith({ mode: 1, cid: 'c1' });
    expect(session.snapshot()).toMatchObject({ type: 1, local: { cameraOn: false } });
  });
});
