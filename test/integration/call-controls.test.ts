/** @jest-environment node */
/**
 * In-call behaviour with CallSession on the real server: control notices (mic, camera, background), the
 * audio↔video switch handshake (NetEase controls 5–8), the background policy, and media recovery.
 */
import type { RunningServer } from '../../server/index';
import { startTestServer } from '../helpers/server';
import { disposeParties, ended, inCall, names, party, until, type Party } from '../helpers/session';
import { eventually } from '../helpers/wait';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(disposeParties);

const peerState = (p: Party) => p.session.snapshot().peerState;

async function pair(options: Parameters<typeof party>[2] = {}): Promise<[Party, Party]> {
  const [alice, bob] = names('alice', 'bob');
  const a = await party(server, alice, options);
  const b = await party(server, bob);
  return [a, b];
}

describe('in-call controls', () => {
  it('shows my mute and camera-off on the peer screen, and clears them when turned back on', async () => {
    const [a, b] = await pair();
    await inCall(a, b);
    await a.session.setMic(false);
    await until(b, () => !peerState(b).micOn, 'peer muted');
    expect(a.session.snapshot().local.micOn).toBe(false);
    await a.session.setCamera(false);
    await until(b, () => !peerState(b).cameraOn, 'peer camera off');
    await a.session.setMic(true);
    await a.session.setCamera(true);
    await until(b, () => peerState(b).micOn && peerState(b).cameraOn, 'peer back on');
  });

  it('keeps flip and speaker/earpiece local (no notice to send for them)', async () => {
    const [a, b] = await pair();
    await inCall(a, b, 1);
    expect(a.session.snapshot().local.soundMode).toBe('ear'); // audio calls start on the earpiece
    await a.session.setSoundMode('speaker');
    await a.session.flipCamera();
    expect(a.session.snapshot().local).toMatchObject({ soundMode: 'speaker', devicePosition: 'back' });
  });

  it('switches audio→video only when the peer agrees, and video→audio at once', async () => {
    const [a, b] = await pair();
    await inCall(a, b, 1);
    expect(a.session.snapshot().local.cameraOn).toBe(false);

    await a.session.requestSwitch(2);
    await until(b, (s) => s.snapshot().switchRequest?.from === 'peer', 'asked to switch');
    await b.session.respondSwitch(false);
    await until(a, (s) => s.snapshot().switchRequest === null, 'refusal seen');
    expect(a.session.snapshot().type).toBe(1);

    await a.session.requestSwitch(2);
    await until(b, (s) => s.snapshot().switchRequest !== null, 'asked again');
    await b.session.respondSwitch(true);
    await until(a, (s) => s.snapshot().type === 2, 'switched to video');
    expect(b.session.snapshot()).toMatchObject({ type: 2, local: { cameraOn: true } });
    expect(a.session.snapshot().local.cameraOn).toBe(true);

    await b.session.requestSwitch(1);
    await until(a, (s) => s.snapshot().type === 1, 'switched back to audio');
    expect(a.session.snapshot().local.cameraOn).toBe(false);
    await expect(a.session.respondSwitch(true)).rejects.toMatchObject({ code: 409 });
  });

  it('goes on without video when my camera cannot open (-1301), and the peer is told', async () => {
    const [a, b] = await pair();
    await inCall(a, b);
    const self = a.session.roster.pusher!.uid;
    expect(await a.session.onMediaState({ source: 'pusher', uid: self, code: -1301 })).toBe(
      'camera-unavailable',
    );
    expect(a.session.snapshot().local.cameraOn).toBe(false);
    await until(b, () => peerState(b).cameraUnavailable && !peerState(b).cameraOn, 'peer camera unavailable');
    expect(a.session.phase).toBe('in-call');
  });

  it('tells the peer when my app goes to the background and when it is back', async () => {
    const [a, b] = await pair({ background: { mode: 'pause-video' } });
    await inCall(a, b);
    a.session.appHidden();
    await until(b, () => peerState(b).background, 'peer in background');
    expect(a.session.snapshot().local.cameraOn).toBe(false); // pause-video policy
    a.session.appShown();
    await until(b, () => !peerState(b).background, 'peer back');
    expect(a.session.snapshot().local.cameraOn).toBe(true);
  });

  it('hangs up after the configured time in the background (pusher code 5001 counts as background)', async () => {
    const [a, b] = await pair({ background: { mode: 'hangup', hangupAfter: 0.2 } });
    await inCall(a, b);
    const self = a.session.roster.pusher!.uid;
    expect(await a.session.onMediaState({ source: 'pusher', uid: self, code: 5001 })).toBe('background');
    await ended(a, 'local-hangup');
    await ended(b, 'remote-hangup');
  });
});

describe('media recovery', () => {
  it('restarts the pusher on -1307, replays a player on -2301, then asks the server for fresh URLs', async () => {
    const [a, b] = await pair();
    await inCall(a, b);
    const actions: string[] = [];
    a.session.on('mediaAction', (e) => actions.push(`${e.source}:${e.action}`));
    const self = a.session.roster.pusher!.uid;
    const peer = a.session.roster.players[0].uid;
    let fresh = 0;
    a.netcall.on('syncDone', () => fresh++);

    expect(await a.session.onMediaState({ source: 'pusher', uid: self, code: -1307 })).toBe('restart');
    expect(await a.session.onMediaState({ source: 'player', uid: peer, code: -2301 })).toBe('replay');
    expect(fresh).toBe(0);
    expect(await a.session.onMediaState({ source: 'player', uid: peer, code: -2301 })).toBe('refresh-url');
    await eventually(() => fresh === 1, 'a fresh syncDone');
    expect(await a.session.onMediaState({ source: 'pusher', uid: self, code: 3004 })).toBe('refresh-url');
    await eventually(() => fresh === 2, 'a second fresh syncDone');
    expect(await a.session.onMediaState({ source: 'pusher', uid: self, code: 1102 })).toBe('none');
    expect(await a.session.onMediaState({ source: 'player', uid: peer, code: 123456 })).toBe('none');
    expect(actions).toEqual(['pusher:restart', 'player:replay']);
    expect(a.session.phase).toBe('in-call');
    expect(a.session.roster.players.map((p) => p.uid)).toEqual([peer]);
  });
});
