/** @jest-environment node */
/**
 * `npm run bot` as its own process against a dev server: it logs in through dev login, answers a call from a
 * real test client, pushes its test pattern to the URL its syncDone gave it, and the pattern decodes from the
 * play URL the client was given for it. Ctrl-C (SIGINT) hangs up, exits 0, and the client's call ends. A
 * `--host` bot goes live and a `--cohost` bot gets on its stage; the audience plays the dev server's mix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import { DecodeError, decodeVideoFrames, killAllFfmpeg } from '../helpers/ffmpeg';
import { closeClients, connectClient, startTestServer } from '../helpers/server';
import { eventuallyValue } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');
// ts-node's start-up and ffmpeg share two cores with other test runs.
const START_MS = 30_000;
const MEDIA_MS = 20_000;

interface BotRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Every JSON line printed so far. */
  lines(): Record<string, unknown>[];
  /** The first printed line (now or later) that `match` accepts; fails once the bot exited, or in time. */
  line(match: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  output(): string;
}

const bots = new Set<BotRun>();

function runBot(args: string[]): BotRun {
  const child = spawn(TS_NODE, ['--transpile-only', 'server/tools/bot.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  const lines = () =>
    out
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
  let ended = false;
  void exited.then(() => (ended = true));
  const run: BotRun = {
    child,
    exited,
    lines,
    output: () => out + err,
    line: (match, what) =>
      eventuallyValue(
        () => {
          const found = lines().find(match);
          if (found) return found;
          if (ended) throw new Error(`the bot exited before ${what}:\n${out}${err}`);
          return undefined;
        },
        () => `${what}; the bot printed:\n${out}${err}`,
        START_MS,
        50,
      ),
  };
  bots.add(run);
  void exited.then(() => bots.delete(run));
  return run;
}

let server: RunningServer;

beforeAll(async () => {
  // Dev mode, as `npm start` runs it, so the bot gets its token from dev login; no echo peer needed here.
  server = await startTestServer({ dev: true, secret: undefined, mediaSecret: undefined, echo: false });
});

afterEach(async () => {
  closeClients();
  for (const bot of bots) bot.child.kill('SIGKILL');
  await Promise.all([...bots].map((bot) => bot.exited));
});

afterAll(async () => {
  killAllFfmpeg();
  await server?.close();
});

async function devToken(account: string): Promise<string> {
  const res = await fetch(`${server.httpUrl}/api/login`, {
    method: 'POST',
    body: JSON.stringify({ account }),
  });
  return ((await res.json()) as { token: string }).token;
}

describe('npm run bot', () => {
  it('answers a call, its pattern decodes at the caller, and SIGINT hangs up and exits 0', async () => {
    const bot = runBot(['--server', server.httpUrl, '--account', 'robot', '--answer', '--pattern']);
    await bot.line((l) => l.bot === 'ready', 'the bot ready');

    const alice = await connectClient(server, 'alice', { token: await devToken('alice') });
    const roster = new MediaRoster(alice);
    const { cid } = await alice.call({ type: 2, callee: 'robot' });
    expect(await alice.next('callAccepted', START_MS)).toMatchObject({ cid, account: 'robot' });
    roster.setSelf(await alice.startRtc({ mode: 0 }));
    const robot = await eventuallyValue(
      () => roster.players.find((p) => p.account === 'robot'),
      'the bot in the RTC session',
      START_MS,
    );
    await bot.line((l) => l.bot === 'pushing', 'the bot pushing');
    // Every event is a JSON line: the ring it answered and the syncDone that gave it its push URL.
    expect(bot.lines()).toEqual(
      expect.arrayContaining([
        { event: 'beCalling', data: expect.objectContaining({ caller: 'alice', cid }) },
        { event: 'syncDone', data: expect.objectContaining({ cid }) },
      ]),
    );
    const video = await decodeVideoFrames(robot.flvUrl!, { frames: 5, timeoutMs: MEDIA_MS });
    expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });

    const hungUp = alice.next('hangup', START_MS);
    bot.child.kill('SIGINT');
    expect(await bot.exited).toBe(0);
    expect(await hungUp).toMatchObject({ cid, account: 'robot' });
    expect(bot.lines().at(-1)).toEqual({ bot: 'bye' });
    // Its stream died with the call: the URL that played above plays no more.
    const after = await decodeVideoFrames(robot.url, { frames: 1, timeoutMs: MEDIA_MS }).catch(
      (e: unknown) => e,
    );
    expect(after).toBeInstanceOf(DecodeError);
    expect((after as DecodeError).framesSeen).toBe(0);
  }, 60_000);

  it('calls an account with --call, and exits 0 once the call is over', async () => {
    const bob = await connectClient(server, 'bob', { token: await devToken('bob') });
    const roster = new MediaRoster(bob);
    const bot = runBot(['--server', server.httpUrl, '--account', 'caller-bot', '--call', 'bob']);
    const ring = await bob.next('beCalling', START_MS);
    expect(ring).toMatchObject({ caller: 'caller-bot' });
    await bob.response({ accepted: true, caller: ring.caller, type: ring.type, cid: ring.cid });
    roster.setSelf(await bob.startRtc({ mode: 0 }));
    const peer = await eventuallyValue(
      () => roster.players.find((p) => p.account === 'caller-bot'),
      () => `the calling bot in the RTC session; it printed:\n${bot.output()}`,
      START_MS,
    );
    const video = await decodeVideoFrames(peer.flvUrl!, { frames: 5, timeoutMs: MEDIA_MS });
    expect(video.frames).toBeGreaterThanOrEqual(5);
    await bob.hangup();
    expect(await bot.exited).toBe(0);
    expect(bot.lines()).toEqual(
      expect.arrayContaining([{ event: 'hangup', data: expect.objectContaining({ account: 'bob' }) }]),
    );
  }, 60_000);

  it('hosts a live room with --host and takes a --cohost bot on stage; the mixed live stream decodes', async () => {
    const host = runBot(['--server', server.httpUrl, '--account', 'host-bot', '--host', 'stage']);
    await host.line((l) => l.bot === 'pushing', 'the host bot pushing');
    const viewer = await connectClient(server, 'viewer', { token: await devToken('viewer') });
    const watching = await viewer.joinChannel({ channelName: 'stage', type: 2, liveEnable: true });
    expect(watching.role).toBe('audience');
    // Dev mode mixes live rooms: the audience's stream is the mix (640×360), the host bot's pattern in it.
    expect(await decodeVideoFrames(watching.live!.flv, { frames: 5, timeoutMs: MEDIA_MS })).toMatchObject({
      width: 640,
      height: 360,
      codec: 'h264',
    });

    const cohost = runBot(['--server', server.httpUrl, '--account', 'cohost-bot', '--cohost', 'stage']);
    await cohost.line((l) => l.bot === 'asked to go on stage', 'the co-host bot asking');
    await host.line(
      (l) => l.bot === 'accepted co-host' && l.account === 'cohost-bot',
      'the host bot accepting',
    );
    await cohost.line((l) => l.bot === 'on stage', 'the co-host bot on stage');
    await cohost.line((l) => l.bot === 'pushing', 'the co-host bot pushing');
    // The directory (behind a token) shows it on stage.
    const entry = await eventuallyValue(
      async () => {
        const res = await fetch(`${server.httpUrl}/api/live/stage`, {
          headers: { authorization: `Bearer ${await devToken('viewer')}` },
        });
        const { room } = (await res.json()) as { room?: { coHosts: string[] } };
        return room?.coHosts.includes('cohost-bot') ? room : undefined;
      },
      'the co-host bot listed on stage',
      START_MS,
      100,
    );
    expect(entry.coHosts).toEqual(['cohost-bot']);

    // The host's Ctrl-C ends the live: the co-host bot hears it and exits 0 by itself.
    const closed = new Promise((resolve) => viewer.on('liveRoomClose', resolve));
    host.child.kill('SIGINT');
    expect(await host.exited).toBe(0);
    expect(await closed).toMatchObject({ reason: 'host-left' });
    expect(await cohost.exited).toBe(0);
    expect(cohost.lines()).toEqual(expect.arrayContaining([expect.objectContaining({ bot: 'live over' })]));
  }, 90_000);
});
