/**
 * `npm run serve -- --port P --rtmp-port R --media-http-port H [--secret S] [--media-secret M] [--dev]`.
 * Prints `listening ws://HOST:PORT` once ready; stops cleanly on SIGINT/SIGTERM.
 */
import { networkInterfaces } from 'os';
import { resolve } from 'path';
import { parseArgs } from 'util';
import { startServer } from './index';

function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

function port(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--${name} must be a port number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'rtmp-port': { type: 'string' },
      'media-http-port': { type: 'string' },
      host: { type: 'string' },
      'public-host': { type: 'string' },
      secret: { type: 'string' },
      'media-secret': { type: 'string' },
      dev: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
    },
  });
  const host = values.host ?? '0.0.0.0';
  const publicHost = values['public-host'] ?? (host === '0.0.0.0' ? (lanAddress() ?? '127.0.0.1') : host);
  const server = await startServer({
    port: port(values.port, 'port', 8080),
    rtmpPort: port(values['rtmp-port'], 'rtmp-port', 1935),
    mediaHttpPort: port(values['media-http-port'], 'media-http-port', 8000),
    host,
    publicHost,
    dev: values.dev,
    secret: values.secret ?? process.env.NETCALL_SECRET,
    mediaSecret: values['media-secret'] ?? process.env.NETCALL_MEDIA_SECRET,
    logLevel: (values['log-level'] as 'info' | undefined) ?? 'info',
  });
  console.log(`listening ${server.url}`);
  console.log(`media     ${server.media.rtmp} (RTMP)  ${server.media.http} (HTTP-FLV)`);
  if (values.dev) {
    console.log(`dev login POST ${server.httpUrl}/api/login {"account":"alice"} -> {"token":...}`);
    console.log(
      `DevTools  import the folder ${resolve(__dirname, '..')} (it opens dist/ via project.config.json)`,
    );
    console.log(`          on the login page, set the server to ${server.url}`);
  }
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
