/** @jest-environment node */
/**
 * Real media in a room of three: each member pushes a test pattern to the push URL the server gave it, and
 * decodes another member's video from the play URL it was given for that member. When a member leaves, the
 * play URLs the others hold for it are refused, while the rest of the room plays on.
 */
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import { decodeVideoFrames, killAllFfmpeg, pushTestPattern, type TestPusher } from '../helpers/ffmpeg';
import { closeClients, connectClient, startTestServer, type TestClient } from '../helpers/server';
import { eventually } from '../helpers/wait';
import { request } from './raw-clients';

let server: RunningServer;
const pushers: TestPusher[] = [];

afterAll(async () => {
  await Promise.all(pushers.map((p) => p.stop()));
  killAllFfmpeg();
  closeClients();
  await server?.close();
});

it('lets each member of a room of three decode the others, and refuses a leaver’s URLs', async () => {
  server = await startTestServer();
  const members: { client: TestClient; roster: MediaRoster }[] = [];
  const alice = 'rm-alice';
  const owner = await connectClient(server, alice);
  await owner.createChannel({ channelName: 'media-room' });
  for (const account of [alice, 'rm-bob', 'rm-carol']) {
    const client = account === alice ? owner : await connectClient(server, account);
    await client.joinChannel({ channelName: 'media-room', type: 2 });
    const roster = new MediaRoster(client);
    roster.setSelf(await client.startRtc({ mode: 0 }));
    members.push({ client, roster });
  }
  for (const { client, roster } of members)
    await eventually(() => roster.players.length === 2 && roster.pusher !== null, `${client.account}'s URLs`);

  for (const { roster } of members) pushers.push(pushTestPattern(roster.pusher!.url));
  // Each member decodes the next one's stream from the URLs it holds: RTMP for one, HTTP-FLV for another.
  const decoded = await Promise.all(
    members.map(({ roster }, i) => {
      const next = members[(i + 1) % members.length].client.account;
      const player = roster.players.find((p) => p.account === next)!;
      return decodeVideoFrames(i % 2 === 0 ? player.url : player.flvUrl!, { frames: 3, timeoutMs: 20000 });
    }),
  );
  for (const video of decoded) expect(video).toMatchObject({ codec: 'h264', width: 320, height: 240 });

  // carol leaves: the HTTP-FLV URL alice holds for her is refused now; bob's still plays for alice (control).
  const carolForAlice = members[0].roster.players.find((p) => p.account === 'rm-carol')!.flvUrl!;
  const bobForAlice = members[0].roster.players.find((p) => p.account === 'rm-bob')!.flvUrl!;
  await members[2].client.leaveChannel();
  await members[0].client.next('leaveChannel');
  const refused = await request(carolForAlice);
  expect(refused.status).toBe(403);
  expect(refused.body.toString('utf8')).toMatch(/not authorised/);
  expect(
    (await decodeVideoFrames(bobForAlice, { frames: 2, timeoutMs: 20000 })).frames,
  ).toBeGreaterThanOrEqual(2);
}, 90000);
