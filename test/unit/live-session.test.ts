/**
 * LiveSession's transitions and timers under fake timers, over a scripted LiveNetcallLike (the real server is
 * covered by test/integration/live-session.test.ts): the host's lifecycle and its summary wait, the audience's
 * request and invite flows with their expiries, removal, the host's pending requests, notices, messages,
 * counts, the room's close, and every guard refusing before anything is sent.
 */
import { LiveSession, type LiveRecord, type LiveSessionOptions } from '../../services/live/live-session';
import { Emitter, type NetcallEvents } from '../../services/netcall';
import type { LiveNetcallLike } from '../../services/netcall/types';
import type { Timers } from '../../services/platform';
import { Code, NetcallError } from '../../services/protocol/errors';
import type { JoinChannelResult, RtcUser } from '../../services/protocol';

const CID = 'l1';
const FLV = 'http://media/live/l1_live.flv?sign=1';

class ScriptedLive extends Emitter<NetcallEvents> implements LiveNetcallLike {
  sent: { op: string; args: unknown }[] = [];
  /** What the next joinChannel answers (a host by default). */
  joined: Partial<JoinChannelResult> = { role: 'host' };
  /** Ops that reject, by name. */
  failing: Record<string, NetcallError> = {};

  constructor(readonly account = 'me') {
    super();
  }

  private async op<T>(op: string, args: unknown, result: T): Promise<T> {
    this.sent.push({ op, args });
    const failure = this.failing[op];
    if (failure) throw failure;
    return result;
  }

  ops = () => this.sent.map((s) => s.op);
  call = jest.fn(async (): Promise<never> => {
    throw new Error('no calls in a live');
  });
  response = jest.fn(async () => undefined);
  hangup = jest.fn(async () => undefined);
  inviteToCall = jest.fn(async () => undefined);
  control = (args: unknown) => this.op('control', args, undefined);
  startRtc = (args: unknown) =>
    this.op('startRtc', args, { uid: this.joined.uid ?? '1', account: this.account, cid: CID });
  createChannel = (args: { channelName: string }) =>
    this.op('createChannel', args, { channelName: args.channelName, cid: CID, custom: '' });
  joinChannel = (args: { channelName: string }) =>
    this.op('joinChannel', args, {
      channelName: args.channelName,
      cid: CID,
      uid: '1',
      account: this.account,
      custom: '',
      accountUidMap: { [this.account]: '1' },
      ...this.joined,
    } as JoinChannelResult);
  leaveChannel = (args?: unknown) => this.op('leaveChannel', args, undefined);
  changeRoleToPlayer = (args?: unknown) => this.op('changeRoleToPlayer', args, undefined);
  changeRoleToAudience = (args?: unknown) => this.op('changeRoleToAudience', args, undefined);
  requestCoHost = (args?: unknown) => this.op('requestCoHost', args, undefined);
  respondCoHost = (args: unknown) => this.op('respondCoHost', args, undefined);
  inviteCoHost = (args: unknown) => this.op('inviteCoHost', args, undefined);
  respondCoHostInvite = (args: unknown) => this.op('respondCoHostInvite', args, undefined);
  removeCoHost = (args: unknown) => this.op('removeCoHost', args, undefined);
  sendRoomMessage = (args: unknown) => this.op('sendRoomMessage', args, undefined);

  syncDone(userlist: RtcUser[]): void {
    this.emit('syncDone', { code: 200, errmsg: '', cid: CID, userlist });
  }
}

const fakeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  now: () => Date.now(),
};

const user = (uid: string, account: string): RtcUser => ({
  uid,
  account,
  mode: 0,
  url: `rtmp://media/live/${CID}_${uid}?sign=1`,
});

function setup(options: Partial<LiveSessionOptions> = {}, account = 'me') {
  const netcall = new ScriptedLive(account);
  const session = new LiveSession({
    netcall,
    timers: fakeTimers,
    checkPermissions: async () => ({ granted: true }),
    ...options,
  });
  const records: LiveRecord[] = [];
  session.on('liveEnded', (r) => records.push(r));
  return { netcall, session, records };
}

/** A session watching the room as audience (the host `star` on stage). */
async function watching(options: Partial<LiveSessionOptions> = {}) {
  const setupResult = setup(options);
  setupResult.netcall.joined = {
    role: 'audience',
    uid: '9',
    accountUidMap: { star: '2', me: '9' },
    live: { rtmp: 'rtmp://media/live/l1_live?sign=1', flv: FLV, h5: 'http://h5' },
  };
  await setupResult.session.watch('show');
  setupResult.netcall.sent = [];
  return setupResult;
}

/** A session hosting `show`, pushing. */
async function hosting(options: Partial<LiveSessionOptions> = {}) {
  const setupResult = setup(options);
  await setupResult.session.goLive('show', { sessionConfig: { splitMode: 2 } });
  setupResult.netcall.syncDone([user('1', 'me')]);
  setupResult.netcall.sent = [];
  return setupResult;
}

/** Runs the promise and the microtasks it needs under fake timers. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Whatever the error, it must be a NetcallError with `code`, and nothing may have been sent. */
async function refused(run: () => Promise<unknown>, code: number, netcall: ScriptedLive): Promise<void> {
  const before = netcall.sent.length;
  const error = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetcallError);
  expect((error as NetcallError).code).toBe(code);
  expect(netcall.sent.slice(before)).toEqual([]);
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('the host', () => {
  it('creates the room, joins it live with its settings, pushes, and ticks from going live', async () => {
    const { netcall, session } = setup();
    await session.goLive('show', { sessionConfig: { splitMode: 2, stageApproval: true } });
    expect(netcall.ops()).toEqual(['createChannel', 'joinChannel', 'startRtc']);
    expect(netcall.sent[1].args).toEqual({
      channelName: 'show',
      type: 2,
      liveEnable: true,
      sessionConfig: { splitMode: 2, stageApproval: true },
    });
    expect(session.snapshot()).toMatchObject({
      phase: 'host',
      role: 'host',
      host: 'me',
      cid: CID,
      live: null,
    });
    netcall.syncDone([user('1', 'me')]);
    expect(session.roster.pusher?.url).toContain(`${CID}_1`);
    jest.advanceTimersByTime(3000);
    expect(session.snapshot().duration).toBe(3);
  });

  it('ends with the server summary after leaving: closing until liveSummary, one record carrying it', async () => {
    const { netcall, session, records } = await hosting();
    jest.advanceTimersByTime(5000);
    await session.hangup();
    expect(netcall.ops()).toEqual(['leaveChannel']);
    expect(session.phase).toBe('closing');
    expect(session.roster.pusher).toBeNull();
    // The time stops at the leave; the host's own close notice changes nothing while closing.
    jest.advanceTimersByTime(2000);
    expect(session.snapshot().duration).toBe(5);
    netcall.emit('liveRoomClose', { cid: CID, reason: 'host-left' });
    expect(session.phase).toBe('closing');
    const summary = {
      cid: CID,
      channelName: 'show',
      startedAt: 0,
      endedAt: 5000,
      duration: 5000,
      peakAudience: 7,
    };
    netcall.emit('liveSummary', summary);
    expect(session.snapshot()).toMatchObject({ phase: 'ended', reason: 'local-hangup', summary });
    expect(records).toEqual([
      {
        cid: CID,
        channelName: 'show',
        role: 'host',
        duration: 5,
        reason: 'local-hangup',
        closeReason: 'host-left',
        summary,
      },
    ]);
    netcall.emit('liveSummary', summary);
    expect(records).toHaveLength(1);
  });

  it('ends without a summary when none comes within summaryTimeout', async () => {
    const { session, records } = await hosting({ summaryTimeout: 1000 });
    await session.hangup();
    jest.advanceTimersByTime(999);
    expect(session.phase).toBe('closing');
    jest.advanceTimersByTime(1);
    expect(session.phase).toBe('ended');
    expect(records).toHaveLength(1);
    expect(records[0].summary).toBeUndefined();
  });

  it('lists co-host requests, drops one the server let expire, and refuses to answer one that is not there', async () => {
    const { netcall, session } = await hosting({ coHostTimeout: 1000 });
    netcall.emit('coHostRequest', { cid: CID, account: 'bob' });
    jest.advanceTimersByTime(500);
    netcall.emit('coHostRequest', { cid: CID, account: 'carol' });
    expect(session.snapshot().requests.map((r) => r.account)).toEqual(['bob', 'carol']);
    jest.advanceTimersByTime(500);
    expect(session.snapshot().requests.map((r) => r.account)).toEqual(['carol']);
    await refused(() => session.respondCoHost('bob', true), Code.NOT_FOUND, netcall);
    await session.respondCoHost('carol', true);
    expect(netcall.sent).toEqual([
      { op: 'respondCoHost', args: { cid: CID, account: 'carol', accepted: true } },
    ]);
    expect(session.snapshot().requests).toEqual([]);
  });

  it('drops a request the server says is gone (404) and rethrows', async () => {
    const { netcall, session } = await hosting();
    netcall.emit('coHostRequest', { cid: CID, account: 'bob' });
    netcall.failing.respondCoHost = new NetcallError(Code.NOT_FOUND, 'expired');
    await expect(session.respondCoHost('bob', false)).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(session.snapshot().requests).toEqual([]);
  });

  it('keeps an invite pending until answered, tells a refusal, and forgets an unanswered one', async () => {
    const { netcall, session } = await hosting({ coHostTimeout: 1000, noticeTimeout: 300 });
    await session.inviteCoHost('bob');
    await session.inviteCoHost('carol');
    expect(session.snapshot().invites).toEqual(['bob', 'carol']);
    await refused(() => session.inviteCoHost('bob'), Code.CONFLICT, netcall);
    netcall.emit('coHostInviteResponse', { cid: CID, account: 'bob', accepted: false });
    expect(session.snapshot()).toMatchObject({
      invites: ['carol'],
      notice: { kind: 'invite-declined', account: 'bob' },
    });
    jest.advanceTimersByTime(300);
    expect(session.snapshot().notice).toBeNull();
    jest.advanceTimersByTime(700);
    expect(session.snapshot().invites).toEqual([]);
  });

  it('knows its stage from joins, streams and notices, and removes only a co-host on it', async () => {
    const { netcall, session } = await hosting();
    await refused(() => session.removeCoHost('bob'), Code.NOT_FOUND, netcall);
    netcall.emit('joinChannel', { cid: CID, account: 'bob', uid: '3', channelId: CID });
    expect(session.snapshot().stage).toEqual([
      expect.objectContaining({ account: 'bob', uid: '3', role: 'cohost', rtc: false }),
    ]);
    netcall.emit('clientJoin', { ...user('3', 'bob'), cid: CID });
    netcall.emit('control', { cid: CID, account: 'bob', command: 2 });
    expect(session.snapshot().stage[0]).toMatchObject({ rtc: true, micOn: false });
    await session.removeCoHost('bob');
    expect(netcall.sent).toEqual([{ op: 'removeCoHost', args: { cid: CID, account: 'bob' } }]);
    netcall.emit('leaveChannel', { cid: CID, account: 'bob', channelId: CID });
    expect(session.snapshot().stage).toEqual([]);
  });

  it("goes to closing on the server's own close and ends with its reason once the summary comes", async () => {
    const { netcall, session, records } = await hosting();
    netcall.emit('liveRoomClose', { cid: CID, reason: 'shutdown' });
    expect(session.phase).toBe('closing');
    netcall.emit('liveSummary', {
      cid: CID,
      channelName: 'show',
      startedAt: 0,
      endedAt: 1,
      duration: 1,
      peakAudience: 0,
    });
    expect(records).toEqual([expect.objectContaining({ reason: 'network', closeReason: 'shutdown' })]);
  });
});

describe('the audience', () => {
  it('joins live, plays the mixed stream, never starts RTC and counts the audience', async () => {
    const { netcall, session } = await watching();
    expect(session.snapshot()).toMatchObject({ phase: 'audience', role: 'audience', host: 'star', uid: '9' });
    expect(session.snapshot().live?.flv).toBe(FLV);
    netcall.emit('audienceCount', { cid: CID, count: 12 });
    netcall.emit('audienceCount', { cid: CID, count: 9 });
    expect(session.snapshot()).toMatchObject({ audienceCount: 9, peakAudience: 12 });
    // The audience is not in RTC: a mic toggle tells nobody.
    await session.setMic(false);
    expect(netcall.ops()).toEqual([]);
    jest.advanceTimersByTime(2000);
    expect(session.snapshot().duration).toBe(2);
  });

  it("plays where the live stream moved, and what a rejoin after a reconnect gave it; not another room's", async () => {
    const { netcall, session } = await watching();
    const moved = {
      rtmp: 'rtmp://other/live/b_l1_live?sign=2',
      flv: 'http://other/live/b_l1_live.flv?sign=2',
      h5: 'h',
    };
    netcall.emit('liveStreamMoved', { cid: 'another', live: { ...moved, flv: 'http://elsewhere.flv' } });
    expect(session.snapshot().live?.flv).toBe(FLV);
    netcall.emit('liveStreamMoved', { cid: CID, live: moved });
    expect(session.snapshot().live).toEqual(moved);
    const again = { ...moved, flv: 'http://other/live/b_l1_live.flv?sign=3' };
    netcall.emit('roomRejoined', {
      cid: CID,
      result: {
        channelName: 'show',
        cid: CID,
        uid: '9',
        account: 'me',
        custom: '',
        accountUidMap: {},
        live: again,
      },
    });
    expect(session.snapshot()).toMatchObject({ phase: 'audience', live: again });
  });

  it('asks to co-host and goes on stage when the host accepts: changeRoleToPlayer, then push', async () => {
    const { netcall, session } = await watching();
    await session.requestCoHost();
    expect(session.phase).toBe('requesting');
    netcall.emit('coHostResponse', { cid: CID, accepted: true });
    await settle();
    expect(netcall.ops()).toEqual(['requestCoHost', 'changeRoleToPlayer', 'startRtc']);
    expect(session.snapshot()).toMatchObject({ phase: 'cohost', role: 'cohost' });
    // On stage the control notices go out.
    await session.setMic(false);
    expect(netcall.sent.at(-1)).toEqual({ op: 'control', args: { command: 2, cid: CID } });
  });

  it('goes back to watching when refused, with a notice that goes after noticeTimeout', async () => {
    const { netcall, session } = await watching({ noticeTimeout: 500 });
    await session.requestCoHost();
    netcall.emit('coHostResponse', { cid: CID, accepted: false });
    expect(session.snapshot()).toMatchObject({ phase: 'audience', notice: { kind: 'request-refused' } });
    jest.advanceTimersByTime(499);
    expect(session.snapshot().notice).not.toBeNull();
    jest.advanceTimersByTime(1);
    expect(session.snapshot().notice).toBeNull();
  });

  it("tells the server's timeout, and gives up by itself when even that never comes", async () => {
    const { netcall, session } = await watching({ coHostTimeout: 1000 });
    await session.requestCoHost();
    netcall.emit('coHostResponse', { cid: CID, accepted: false, reason: 'timeout' });
    expect(session.snapshot()).toMatchObject({ phase: 'audience', notice: { kind: 'request-timeout' } });
    await session.requestCoHost();
    jest.advanceTimersByTime(2999);
    expect(session.phase).toBe('requesting');
    jest.advanceTimersByTime(1);
    expect(session.snapshot()).toMatchObject({ phase: 'audience', notice: { kind: 'request-timeout' } });
  });

  it('is invited, and the invite expires after coHostTimeout', async () => {
    const { netcall, session } = await watching({ coHostTimeout: 1000 });
    netcall.emit('coHostInvite', { cid: CID, account: 'star' });
    expect(session.snapshot()).toMatchObject({ phase: 'invited', invitedBy: 'star' });
    jest.advanceTimersByTime(1000);
    expect(session.snapshot()).toMatchObject({
      phase: 'audience',
      invitedBy: '',
      notice: { kind: 'invite-expired' },
    });
    expect(netcall.ops()).toEqual([]);
  });

  it('accepts an invite: the answer, then on stage; refusing one answers no and keeps watching', async () => {
    const { netcall, session } = await watching();
    netcall.emit('coHostInvite', { cid: CID, account: 'star' });
    await session.refuseInvite();
    expect(netcall.sent).toEqual([{ op: 'respondCoHostInvite', args: { cid: CID, accepted: false } }]);
    expect(session.phase).toBe('audience');
    netcall.emit('coHostInvite', { cid: CID, account: 'star' });
    await session.acceptInvite();
    expect(netcall.ops()).toEqual([
      'respondCoHostInvite',
      'respondCoHostInvite',
      'changeRoleToPlayer',
      'startRtc',
    ]);
    expect(session.phase).toBe('cohost');
  });

  it('answers no and stays watching when the camera is refused on accepting an invite', async () => {
    const { netcall, session } = await watching({
      checkPermissions: async () => ({ granted: false, scope: 'scope.camera', canPrompt: false }),
    });
    netcall.emit('coHostInvite', { cid: CID, account: 'star' });
    await expect(session.acceptInvite()).rejects.toMatchObject({ code: Code.FORBIDDEN });
    expect(netcall.sent).toEqual([{ op: 'respondCoHostInvite', args: { cid: CID, accepted: false } }]);
    expect(session.snapshot()).toMatchObject({ phase: 'audience', deniedScope: 'scope.camera' });
  });

  it('refuses to ask without the camera, before sending anything', async () => {
    const { netcall, session } = await watching({
      checkPermissions: async () => ({ granted: false, scope: 'scope.record', canPrompt: true }),
    });
    await refused(() => session.requestCoHost(), Code.FORBIDDEN, netcall);
    expect(session.snapshot()).toMatchObject({ phase: 'audience', deniedScope: 'scope.record' });
  });

  it('stays watching, told, when the stage is full as it steps up (104)', async () => {
    const { netcall, session } = await watching();
    await session.requestCoHost();
    netcall.failing.changeRoleToPlayer = new NetcallError(Code.ROOM_FULL, 'full');
    netcall.emit('coHostResponse', { cid: CID, accepted: true });
    await settle();
    expect(session.snapshot()).toMatchObject({ phase: 'audience', notice: { kind: 'stage-full' } });
    expect(netcall.ops()).not.toContain('startRtc');
  });

  it('steps down by itself or when removed: RTC released, the stream plays again', async () => {
    const { netcall, session } = await watching({ noticeTimeout: 100 });
    await session.changeRoleToPlayer();
    netcall.syncDone([user('9', 'me'), user('2', 'star')]);
    expect(session.snapshot().stage).toEqual([
      expect.objectContaining({ account: 'star', role: 'host', rtc: true }),
    ]);
    expect(session.roster.players).toHaveLength(1);
    await session.changeRoleToAudience();
    expect(session.snapshot()).toMatchObject({ phase: 'audience', role: 'audience', stage: [] });
    expect(session.roster.players).toHaveLength(0);
    expect(session.snapshot().live?.flv).toBe(FLV);

    await session.changeRoleToPlayer();
    netcall.syncDone([user('9', 'me'), user('2', 'star')]);
    netcall.emit('coHostRemoved', { cid: CID, account: 'me' });
    expect(session.snapshot()).toMatchObject({ phase: 'audience', notice: { kind: 'removed' } });
    expect(session.roster.pusher).toBeNull();
  });

  it('ends once when the room closes, with the kit reason and the server words', async () => {
    const { netcall, session, records } = await watching();
    netcall.emit('liveRoomClose', { cid: CID, reason: 'host-lost' });
    netcall.emit('liveRoomClose', { cid: CID, reason: 'host-left' });
    expect(session.snapshot()).toMatchObject({ phase: 'ended', reason: 'network', closeReason: 'host-lost' });
    expect(records).toEqual([
      expect.objectContaining({ role: 'audience', reason: 'network', closeReason: 'host-lost' }),
    ]);
    const other = await watching();
    other.netcall.emit('liveRoomClose', { cid: 'another', reason: 'host-left' });
    expect(other.session.phase).toBe('audience');
    other.netcall.emit('liveRoomClose', { cid: CID, reason: 'host-left' });
    expect(other.records).toEqual([
      expect.objectContaining({ reason: 'remote-hangup', closeReason: 'host-left' }),
    ]);
  });

  it('leaves by hanging up: one local-hangup record and a leaveChannel', async () => {
    const { netcall, session, records } = await watching();
    await session.hangup();
    expect(netcall.sent).toEqual([{ op: 'leaveChannel', args: { cid: CID } }]);
    expect(records.map((r) => r.reason)).toEqual(['local-hangup']);
  });
});

describe('messages', () => {
  it('keeps the last maxMessages, mine included, each with a rising id', async () => {
    const { netcall, session } = await watching({ maxMessages: 3 });
    for (const n of [1, 2, 3, 4])
      netcall.emit('roomMessage', { cid: CID, account: 'fan', type: 'text', content: `m${n}`, time: n });
    netcall.emit('roomMessage', {
      cid: 'elsewhere',
      account: 'fan',
      type: 'text',
      content: 'not here',
      time: 5,
    });
    await session.sendMessage('hello');
    expect(netcall.sent).toEqual([
      { op: 'sendRoomMessage', args: { cid: CID, type: 'text', content: 'hello' } },
    ]);
    const messages = session.snapshot().messages;
    expect(messages.map((m) => m.content)).toEqual(['m3', 'm4', 'hello']);
    expect(messages.map((m) => m.mine)).toEqual([false, false, true]);
    expect(messages.map((m) => m.id)).toEqual([3, 4, 5]);
  });

  it('does not show a message the server refused (429)', async () => {
    const { netcall, session } = await watching();
    netcall.failing.sendRoomMessage = new NetcallError(Code.RATE_LIMITED, 'slow down');
    await expect(session.sendMessage('spam')).rejects.toMatchObject({ code: Code.RATE_LIMITED });
    expect(session.snapshot().messages).toEqual([]);
  });
});

describe('guards', () => {
  it('refuses every op the role cannot do, before sending (403), and a second live (409)', async () => {
    const idle = setup();
    await refused(() => idle.session.sendMessage('hi'), Code.FORBIDDEN, idle.netcall);
    await refused(() => idle.session.requestCoHost(), Code.FORBIDDEN, idle.netcall);

    const host = await hosting();
    await refused(() => host.session.requestCoHost(), Code.FORBIDDEN, host.netcall);
    await refused(() => host.session.changeRoleToAudience(), Code.FORBIDDEN, host.netcall);
    await refused(() => host.session.acceptInvite(), Code.FORBIDDEN, host.netcall);
    await refused(() => host.session.watch('other'), Code.CONFLICT, host.netcall);
    await refused(() => host.session.inviteCoHost('me'), Code.CONFLICT, host.netcall);

    const fan = await watching();
    await refused(() => fan.session.respondCoHost('x', true), Code.FORBIDDEN, fan.netcall);
    await refused(() => fan.session.inviteCoHost('x'), Code.FORBIDDEN, fan.netcall);
    await refused(() => fan.session.removeCoHost('x'), Code.FORBIDDEN, fan.netcall);
    await refused(() => fan.session.changeRoleToAudience(), Code.FORBIDDEN, fan.netcall);
    await refused(() => fan.session.refuseInvite(), Code.FORBIDDEN, fan.netcall);
    await fan.session.requestCoHost();
    await refused(() => fan.session.requestCoHost(), Code.FORBIDDEN, fan.netcall);
    // The positive control: the same session may do what its role allows.
    await expect(fan.session.sendMessage('ok')).resolves.toBeUndefined();
  });

  it('ends a failed join as error with its code, and leaves a room joined after a hangup', async () => {
    const failed = setup();
    failed.netcall.failing.joinChannel = new NetcallError(105, 'host exists');
    await expect(failed.session.goLive('show')).rejects.toMatchObject({ code: 105 });
    expect(failed.records).toEqual([
      expect.objectContaining({ reason: 'error', errorCode: 105, role: 'host' }),
    ]);

    const { netcall, session, records } = setup();
    netcall.joined = { role: 'audience' };
    const joining = session.watch('show');
    await session.hangup();
    await joining;
    await settle();
    expect(netcall.ops()).toEqual(['joinChannel', 'leaveChannel']);
    expect(records.map((r) => r.reason)).toEqual(['local-hangup']);
  });
});
