/** @jest-environment node */
/**
 * A room member with no RTC session there (the audience of a live room, a member not pushing yet) whose socket
 * dropped: the kit joins its room again on the new socket, which takes its place back while the grace period
 * runs, and tells the app (`roomRejoined`, with the live stream's URLs as they are now). In each test a second
 * member dropped at the same moment does not come back: it leaves when the grace period ends, the positive
 * control that the one that came back would have left too.
 */
import type { RunningServer } from '../../server/index';
import { recordLive } from '../contract/live-events';
import { closeClients, connectClient, startTestServer } from '../helpers/server';
import { cuttableSockets } from '../helpers/ws-socket';
import { eventually } from '../helpers/wait';

const GRACE_MS = 500;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ callGraceMs: GRACE_MS, roomCapacity: 4 });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

/** One client that comes back after its socket is cut, and one that does not. */
async function keptAndLost(prefix: string) {
  const keptSockets = cuttableSockets();
  const lostSockets = cuttableSockets();
  const kept = await connectClient(server, `${prefix}-kept`, {
    connectSocket: keptSockets.connectSocket,
    reconnectDelay: 50,
  });
  const lost = await connectClient(server, `${prefix}-lost`, {
    connectSocket: lostSockets.connectSocket,
    maxReconnects: 0,
  });
  return {
    kept,
    lost,
    cut: () => {
      keptSockets.cut();
      lostSockets.cut();
    },
  };
}

it('keeps an audience member that came back on a new socket, and gives it the live URLs again', async () => {
  const host = await connectClient(server, 'rj-host');
  const hostLive = recordLive(host);
  await host.createChannel({ channelName: 'rj-live' });
  const { cid } = await host.joinChannel({ channelName: 'rj-live', type: 2, liveEnable: true });
  const { kept, lost, cut } = await keptAndLost('rj-viewer');
  const watching = await kept.joinChannel({ channelName: 'rj-live', type: 2, liveEnable: true });
  await lost.joinChannel({ channelName: 'rj-live', type: 2, liveEnable: true });
  await eventually(() => hostLive.seen('audienceCount').some((n) => n.count === 2), 'an audience of two');
  const before = hostLive.seen('audienceCount').length;

  cut();
  const rejoined = await kept.next('roomRejoined');
  expect(rejoined).toEqual({
    cid,
    result: expect.objectContaining({ cid, uid: watching.uid, role: 'audience' }),
  });
  // The same stream, signed afresh.
  const stream = (url: string) => url.split('?')[0];
  expect(stream(rejoined.result.live!.flv)).toBe(stream(watching.live!.flv));
  expect(rejoined.result.live!.flv).toMatch(/\?sign=/);
  // The one that did not come back leaves when its grace period ends: by then the other one's has ended too.
  await eventually(
    () =>
      hostLive
        .seen('audienceCount')
        .slice(before)
        .some((n) => n.count === 1),
    'an audience of one',
    GRACE_MS + 5000,
  );
  // Still in the room: it hears the room close.
  const closed = recordLive(kept).next('liveRoomClose');
  await host.leaveChannel();
  expect(await closed).toMatchObject({ cid, reason: 'host-left' });
  expect(kept.seen('callLost')).toEqual([]);
});

it('keeps a room member that was not pushing yet and came back on a new socket', async () => {
  const owner = await connectClient(server, 'rj-owner');
  await owner.createChannel({ channelName: 'rj-room' });
  await owner.joinChannel({ channelName: 'rj-room', type: 2 });
  const { kept, lost, cut } = await keptAndLost('rj-member');
  const joined = await kept.joinChannel({ channelName: 'rj-room', type: 2 });
  await lost.joinChannel({ channelName: 'rj-room', type: 2 });

  cut();
  expect(await kept.next('roomRejoined')).toEqual({
    cid: joined.cid,
    result: expect.objectContaining({ cid: joined.cid, uid: joined.uid }),
  });
  // The positive control: the one that did not come back leaves at the end of its grace period...
  expect(await owner.next('leaveChannel', GRACE_MS + 5000)).toMatchObject({ account: 'rj-member-lost' });
  // ...and the one that came back is still a member: its own leave is the next the owner hears.
  await kept.leaveChannel();
  expect(await owner.next('leaveChannel')).toMatchObject({ account: 'rj-member-kept' });
});

it('refuses a second device of a member whose first one is still connected (409), and a stale cid (404)', async () => {
  const owner = await connectClient(server, 'rj-owner2');
  await owner.createChannel({ channelName: 'rj-room2' });
  await owner.joinChannel({ channelName: 'rj-room2', type: 2 });
  const first = await connectClient(server, 'rj-twice');
  await first.joinChannel({ channelName: 'rj-room2', type: 2 });
  const second = await connectClient(server, 'rj-twice');
  await expect(second.joinChannel({ channelName: 'rj-room2', type: 2 })).rejects.toMatchObject({
    code: 409,
  });
  // Joining again by name and cid: refused when the name now names another room (here: a cid it never had).
  const third = await connectClient(server, 'rj-third');
  await expect(
    third.joinChannel({ channelName: 'rj-room2', type: 2, cid: 'ffffffffffffffff' }),
  ).rejects.toMatchObject({ code: 404 });
  // Nor may the same connection join twice.
  await expect(first.joinChannel({ channelName: 'rj-room2', type: 2 })).rejects.toMatchObject({ code: 409 });
});
