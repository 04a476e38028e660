/** @jest-environment node */
/**
 * The server as an operator meets it: ports, secrets, the HTTP API, and a clean shutdown.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import os from 'os';
import path from 'path';
import { startServer } from '../../server/index';
import { verifyToken } from '../../server/auth/tokens';
import {
  TEST_MEDIA_SECRET,
  TEST_SECRET,
  closeClients,
  connectClient,
  startTestServer,
} from '../helpers/server';

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

const portOf = (url: string) => Number(new URL(url).port);

describe('startServer', () => {
  it('refuses to start outside dev mode without a media secret or a token secret', async () => {
    await expect(
      startServer({ port: 0, rtmpPort: 0, mediaHttpPort: 0, secret: TEST_SECRET }),
    ).rejects.toThrow(/mediaSecret/);
    await expect(
      startServer({ port: 0, rtmpPort: 0, mediaHttpPort: 0, mediaSecret: TEST_MEDIA_SECRET }),
    ).rejects.toThrow(/secret/);
  });

  it('refuses secrets shorter than 32 bytes, naming the secret', async () => {
    const base = { port: 0, rtmpPort: 0, mediaHttpPort: 0 };
    await expect(startServer({ ...base, secret: 'short', mediaSecret: TEST_MEDIA_SECRET })).rejects.toThrow(
      /`secret` \(NETCALL_SECRET\) is 5 bytes; at least 32/,
    );
    await expect(startServer({ ...base, secret: TEST_SECRET, mediaSecret: 'x'.repeat(31) })).rejects.toThrow(
      /`mediaSecret` \(NETCALL_MEDIA_SECRET\) is 31 bytes/,
    );
  });

  it('refuses dev mode together with an explicit secret, or with NODE_ENV=production', async () => {
    const base = { port: 0, rtmpPort: 0, mediaHttpPort: 0, dev: true };
    await expect(startServer({ ...base, secret: TEST_SECRET })).rejects.toThrow(/dev mode/);
    await expect(startServer({ ...base, mediaSecret: TEST_MEDIA_SECRET })).rejects.toThrow(/dev mode/);
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(startServer(base)).rejects.toThrow(/dev mode refuses to run with NODE_ENV=production/);
    } finally {
      // Assigning undefined would store the string "undefined".
      if (before === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = before;
    }
  });

  it('refuses a recordings or HLS folder it cannot write to or make at start, naming the setting, and makes a missing one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'netcall-folders-'));
    try {
      const file = path.join(dir, 'a-file');
      writeFileSync(file, '');
      const base = { port: 0, rtmpPort: 0, mediaHttpPort: 0, dev: true, echo: false, liveMix: true };
      // A server that starts anyway is closed, so that the failure is the assertion's, not a hang.
      const refusal = (options: Parameters<typeof startServer>[0]) =>
        startServer(options).then(
          async (server) => {
            await server.close();
            return 'started';
          },
          (error: Error) => error.message,
        );
      expect(await refusal({ ...base, recordingsDir: path.join(file, 'recordings') })).toMatch(
        /`recordingsDir` .*a-file\/recordings cannot be written to \(ENOTDIR\)/,
      );
      expect(await refusal({ ...base, recordingsDir: dir, hlsDir: file })).toMatch(
        /`hlsDir` .*a-file cannot be written to \(ENOTDIR\)/,
      );
      // Where the parent is there and a child can never be made (Node 20's own mkdir -p spins there for ever).
      expect(await refusal({ ...base, recordingsDir: dir, hlsDir: '/proc/netcall-test/hls' })).toMatch(
        /`hlsDir` \/proc\/netcall-test\/hls cannot be written to \(ENOENT\)/,
      );
      // The same options with folders it can make: it starts, and they are there.
      const recordings = path.join(dir, 'new', 'recordings');
      const hls = path.join(dir, 'new', 'hls');
      const server = await startServer({ ...base, recordingsDir: recordings, hlsDir: hls });
      try {
        expect([existsSync(recordings), existsSync(hls)]).toEqual([true, true]);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows live counts on /healthz only to holders of the metrics token', async () => {
    const server = await startTestServer({ metricsToken: 'metrics-0123456789' });
    try {
      const health = (authorization?: string) =>
        fetch(`${server.httpUrl}/healthz`, authorization ? { headers: { authorization } } : {}).then(
          async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
        );
      const anonymous = await health();
      expect(anonymous).toEqual({ status: 200, body: { status: 'ok', media: 'up' } });
      expect((await health('Bearer wrong-token')).body).toEqual({ status: 'ok', media: 'up' });
      expect((await health('Bearer metrics-0123456789')).body).toEqual({
        status: 'ok',
        media: 'up',
        connections: 0,
        online: 0,
        calls: 0,
        mediaRestarts: 0,
      });
    } finally {
      await server.close();
    }
  });

  it('picks free ports for 0, serves /healthz, and frees every port on close', async () => {
    const server = await startTestServer();
    const ports = [server.port, portOf(server.media.rtmp), portOf(server.media.http)];
    expect(ports.every((p) => p > 0)).toBe(true);
    expect(new Set(ports).size).toBe(3);
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);

    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', media: 'up' });

    const login = await fetch(`${server.httpUrl}/api/login`, { method: 'POST', body: '{"account":"a"}' });
    expect(login.status).toBe(404); // dev login is off outside dev mode

    await server.close();
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });

  it('in dev mode generates secrets and mints working tokens at POST /api/login', async () => {
    const server = await startServer({
      port: 0,
      rtmpPort: 0,
      mediaHttpPort: 0,
      dev: true,
      logLevel: 'silent',
    });
    try {
      const bad = await fetch(`${server.httpUrl}/api/login`, {
        method: 'POST',
        body: '{"account":"no spaces"}',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 400, message: expect.stringContaining('account') });
      const broken = await fetch(`${server.httpUrl}/api/login`, { method: 'POST', body: '{' });
      expect(broken.status).toBe(400);

      const res = await fetch(`${server.httpUrl}/api/login`, { method: 'POST', body: '{"account":"alice"}' });
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      expect(() => verifyToken(TEST_SECRET, token)).toThrow(); // a generated secret, not a fixed one
      const client = await connectClient(server, 'alice', { token });
      expect(client.isConnected).toBe(true);
    } finally {
      closeClients();
      await server.close();
    }
  });
});
