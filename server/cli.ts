/**
 * `npm run serve -- [--dev] [--port P] [--rtmp-port R] [--media-http-port H] [--secret-file F] [--echo] …`
 * (`--help` lists every flag).
 * Secrets come from the environment (NETCALL_SECRET, NETCALL_MEDIA_SECRET, NETCALL_METRICS_TOKEN) or from
 * files, never from argv: a command line is visible to every local user. Prints `listening ws://HOST:PORT`
 * once ready; on SIGINT/SIGTERM a single node ends every call cleanly and tells clients to reconnect, a node of
 * a cluster (--redis) drains (its calls go on at the other nodes), then exits 0.
 */
import { readFileSync } from 'fs';
import { networkInterfaces } from 'os';
import { resolve } from 'path';
import { parseArgs } from 'util';
import type { EchoOptions } from './echo/options';
import { startServer, type ServerOptions } from './index';

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

/** Numeric limits, each a `startServer` option of the same name in camelCase. */
const NUMERIC_FLAGS = {
  'heartbeat-ms': 'heartbeatMs',
  'call-grace-ms': 'callGraceMs',
  'max-requests-per-second': 'maxRequestsPerSecond',
  'request-burst': 'requestBurst',
  'max-buffered-bytes': 'maxBufferedBytes',
  'max-connections-per-ip': 'maxConnectionsPerIp',
  'max-devices-per-account': 'maxDevicesPerAccount',
  'ring-timeout-ms': 'ringTimeoutMs',
  'max-ringing-per-caller': 'maxRingingPerCaller',
  'max-calls-per-pair-per-minute': 'maxCallsPerPairPerMinute',
  'room-capacity': 'roomCapacity',
  'room-idle-ms': 'roomIdleMs',
  'max-co-hosts': 'maxCoHosts',
  'co-host-timeout-ms': 'coHostTimeoutMs',
  'host-grace-ms': 'hostGraceMs',
  'max-audience': 'maxAudience',
  'max-room-messages-per-second': 'maxRoomMessagesPerSecond',
  'max-live-mixes': 'maxLiveMixes',
  'max-token-lifetime-seconds': 'maxTokenLifetimeSeconds',
  'media-url-ttl-seconds': 'mediaUrlTtlSeconds',
  'missed-call-notice-interval-ms': 'missedCallNoticeIntervalMs',
  'node-ttl-ms': 'nodeTtlMs',
} as const satisfies Record<string, keyof ServerOptions>;

type NumericFlag = keyof typeof NUMERIC_FLAGS;

/** A password in a Redis URL: after the user name (`:pw@`), or as ioredis also reads it, `?password=`. */
function carriesPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || parsed.searchParams.has('password');
  } catch {
    return false; // not a URL at all: startServer refuses it, naming what a Redis URL looks like
  }
}

/** How the command line spells the options startServer names in its refusals (`nodeId` is --node-id here). */
const FLAG_OF: Record<string, string> = {
  ...Object.fromEntries(Object.entries(NUMERIC_FLAGS).map(([flag, option]) => [option, `--${flag}`])),
  redis: '--redis (NETCALL_REDIS_URL)',
  nodeId: '--node-id (NETCALL_NODE_ID)',
  redisPrefix: '--redis-prefix',
  mediaPlacement: '--media-placement',
  historyFile: '--history-file',
  hlsDir: '--hls-dir',
  recordingsDir: '--recordings-dir',
  'echo.account': '--echo-account',
  'echo.delayMs': '--echo-delay-ms',
  'liveCanvas.width': '--live-canvas width',
  'liveCanvas.height': '--live-canvas height',
};

/** A refusal from startServer in the words of the command line: the flags its user typed, no API prefix. */
function inFlags(message: string): string {
  return message
    .replace(/^startServer: /, '')
    .replace(/`([\w.]+)`/g, (quoted, name: string) => FLAG_OF[name] ?? quoted);
}

/** A whole number; its range is the option's own, checked (and named) by startServer. */
function integer(value: string, flag: string): number {
  if (!/^\d{1,16}$/.test(value)) throw new Error(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** A secret from a file flag, else the environment; trailing newlines (from `echo` or editors) are dropped. */
function secretFrom(file: string | undefined, env: string): string | undefined {
  if (file !== undefined) {
    const text = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
    if (!text) throw new Error(`${file} is empty`);
    return text;
  }
  return process.env[env] || undefined;
}

// From the repo it runs as TypeScript (`npm run serve`); installed, as the server package's compiled bin.
const FROM_SOURCE = __filename.endsWith('.ts');
const USAGE = `${FROM_SOURCE ? 'npm run serve --' : 'miniprogram-netcall-server'} [flags]

  --dev                          dev mode: generated secrets, POST /api/login for any account
  --host ADDR                    listen address (default 0.0.0.0)
  --public-host HOST             host written into issued URLs (default: this machine's LAN address)
  --port P  --rtmp-port R  --media-http-port H    (defaults 8080, 1935, 8000; 0 picks a free one)
  --media embedded|nginx         the media server (default embedded); nginx: Debian's nginx and
                                 libnginx-mod-rtmp, RTMP only (no HTTP-FLV, so no --media-http-port)
  --secret-file F  --media-secret-file F  --metrics-token-file F
                                 secrets from files (else NETCALL_SECRET, NETCALL_MEDIA_SECRET,
                                 NETCALL_METRICS_TOKEN); never on the command line
  --token-audience A  --token-issuer I    claims tokens must carry
  --trust-proxy                  client address from X-Forwarded-For (behind a TLS proxy)
  --history-file F               keep call history in this JSON-lines file
  --redis URL                    several nodes as one service: the Redis they share (redis://host:port;
                                 else NETCALL_REDIS_URL, which is where a URL with a password belongs)
  --node-id NAME                 this node's name in the cluster (letters and digits; else NETCALL_NODE_ID,
                                 else random)
  --redis-prefix P               key prefix in Redis (default netcall:)
  --media-placement least-loaded|local    where a new call's media goes (default least-loaded)
  --log-level L                  pino level (default info)
  --echo                         run the echo peer (default: on in dev mode, off otherwise)
  --no-echo                      do not run it, even in dev mode
  --echo-delay-ms N              the echo plays your media back N ms later (default 0, at most 10000)
  --echo-account NAME            the account the echo answers as (default echo)
  --live-mix                     mix live rooms with ffmpeg (default: on in dev mode, off otherwise)
  --no-live-mix                  do not, even in dev mode
  --live-canvas WxH              size of the live mix (default 640x360)
  --hls-dir DIR                  where live mixes write HLS (default: a new folder in the OS temp dir)
  --recordings-dir DIR           where rtmpRecord live rooms are recorded (default: OS temp dir)
${Object.keys(NUMERIC_FLAGS)
  .map((flag) => `  --${flag} N`)
  .join('\n')}
                                 limits; each is the startServer option of the same name in camelCase
  -h, --help                     this text`;

/**
 * The echo option the flags ask for; undefined leaves the default (on in dev mode). Its settings without a way
 * to turn it on are refused rather than ignored: an operator who set a delay expects an echo.
 */
function echoOption(values: {
  dev?: boolean;
  echo?: boolean;
  'no-echo'?: boolean;
  'echo-delay-ms'?: string;
  'echo-account'?: string;
}): EchoOptions | false | undefined {
  const settings: EchoOptions = {
    ...(values['echo-delay-ms'] === undefined
      ? {}
      : { delayMs: integer(values['echo-delay-ms'], 'echo-delay-ms') }),
    ...(values['echo-account'] === undefined ? {} : { account: values['echo-account'] }),
  };
  const named = Object.keys(settings).length > 0;
  if (values.echo && values['no-echo']) throw new Error('--echo and --no-echo contradict each other');
  if (named && (values['no-echo'] || !(values.echo || values.dev)))
    throw new Error(
      '--echo-delay-ms/--echo-account set up the echo peer, which is off: add --echo (it is on by default in dev mode)',
    );
  if (values['no-echo']) return false;
  if (named) return settings;
  return values.echo ? {} : undefined;
}

async function main(): Promise<void> {
  const numeric = Object.fromEntries(
    Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: 'string' as const }]),
  ) as Record<NumericFlag, { type: 'string' }>;
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'rtmp-port': { type: 'string' },
      'media-http-port': { type: 'string' },
      media: { type: 'string' },
      host: { type: 'string' },
      'public-host': { type: 'string' },
      'secret-file': { type: 'string' },
      'media-secret-file': { type: 'string' },
      'metrics-token-file': { type: 'string' },
      'token-audience': { type: 'string' },
      'history-file': { type: 'string' },
      redis: { type: 'string' },
      'node-id': { type: 'string' },
      'redis-prefix': { type: 'string' },
      'media-placement': { type: 'string' },
      'token-issuer': { type: 'string' },
      'trust-proxy': { type: 'boolean', default: false },
      dev: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      // The echo peer: on in dev mode unless --no-echo, off otherwise unless --echo.
      echo: { type: 'boolean', default: false },
      'no-echo': { type: 'boolean', default: false },
      'echo-delay-ms': { type: 'string' },
      'echo-account': { type: 'string' },
      // The live mix: on in dev mode unless --no-live-mix, off otherwise unless --live-mix.
      'live-mix': { type: 'boolean', default: false },
      'no-live-mix': { type: 'boolean', default: false },
      'live-canvas': { type: 'string' },
      'hls-dir': { type: 'string' },
      'recordings-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...numeric,
      // Accepted only to be refused with the reason (see the header).
      secret: { type: 'string' },
      'media-secret': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.secret !== undefined || values['media-secret'] !== undefined)
    throw new Error(
      '--secret/--media-secret are not accepted: a command line is visible to every local user. ' +
        'Set NETCALL_SECRET / NETCALL_MEDIA_SECRET, or pass --secret-file / --media-secret-file',
    );
  const limits: Partial<Record<(typeof NUMERIC_FLAGS)[NumericFlag], number>> = {};
  for (const [flag, option] of Object.entries(NUMERIC_FLAGS) as [NumericFlag, keyof typeof limits][]) {
    const value = values[flag];
    if (value !== undefined) limits[option] = integer(value, flag);
  }
  const media = values.media ?? 'embedded';
  if (media !== 'embedded' && media !== 'nginx')
    throw new Error(`--media must be embedded or nginx, got "${media}"`);
  if (media === 'nginx' && values['media-http-port'] !== undefined)
    throw new Error('--media-http-port does not apply to --media nginx (nginx-rtmp serves no HTTP-FLV)');
  const echo = echoOption(values);
  if (values['live-mix'] && values['no-live-mix'])
    throw new Error('--live-mix and --no-live-mix contradict each other');
  const liveMix = values['live-mix'] ? true : values['no-live-mix'] ? false : undefined;
  let liveCanvas: ServerOptions['liveCanvas'];
  if (values['live-canvas'] !== undefined) {
    const size = /^(\d{1,5})x(\d{1,5})$/.exec(values['live-canvas']);
    if (!size)
      throw new Error(`--live-canvas must be WIDTHxHEIGHT, e.g. 640x360, got "${values['live-canvas']}"`);
    liveCanvas = { width: Number(size[1]), height: Number(size[2]) };
  }
  if (values.redis !== undefined && carriesPassword(values.redis))
    throw new Error(
      '--redis must not carry a password: a command line is visible to every local user. Set NETCALL_REDIS_URL',
    );
  const redis = values.redis ?? (process.env.NETCALL_REDIS_URL || undefined);
  const nodeId = values['node-id'] ?? (process.env.NETCALL_NODE_ID || undefined);
  // Checked by startServer, whose refusal names the flag (inFlags).
  const placement = values['media-placement'];
  if (redis === undefined) {
    const named = ['node-id', 'redis-prefix', 'media-placement', 'node-ttl-ms'].filter(
      (flag) => values[flag as 'node-id'] !== undefined,
    );
    if (named.length > 0)
      throw new Error(`${named.map((flag) => `--${flag}`).join(', ')} need --redis (or NETCALL_REDIS_URL)`);
  }
  const host = values.host ?? '0.0.0.0';
  const publicHost = values['public-host'] ?? (host === '0.0.0.0' ? (lanAddress() ?? '127.0.0.1') : host);
  const started = startServer({
    port: port(values.port, 'port', 8080),
    rtmpPort: port(values['rtmp-port'], 'rtmp-port', 1935),
    ...(media === 'nginx'
      ? { media }
      : { mediaHttpPort: port(values['media-http-port'], 'media-http-port', 8000) }),
    host,
    publicHost,
    dev: values.dev,
    secret: secretFrom(values['secret-file'], 'NETCALL_SECRET'),
    mediaSecret: secretFrom(values['media-secret-file'], 'NETCALL_MEDIA_SECRET'),
    metricsToken: secretFrom(values['metrics-token-file'], 'NETCALL_METRICS_TOKEN'),
    tokenAudience: values['token-audience'],
    tokenIssuer: values['token-issuer'],
    trustProxy: values['trust-proxy'],
    historyFile: values['history-file'],
    ...(redis === undefined
      ? {}
      : {
          redis,
          nodeId,
          redisPrefix: values['redis-prefix'],
          mediaPlacement: placement as ServerOptions['mediaPlacement'],
        }),
    logLevel: (values['log-level'] as 'info' | undefined) ?? 'info',
    ...limits,
    ...(echo === undefined ? {} : { echo }),
    ...(liveMix === undefined ? {} : { liveMix }),
    ...(liveCanvas ? { liveCanvas } : {}),
    ...(values['hls-dir'] === undefined ? {} : { hlsDir: resolve(values['hls-dir']) }),
    ...(values['recordings-dir'] === undefined ? {} : { recordingsDir: resolve(values['recordings-dir']) }),
  });
  // Installed before anything is ready: a supervisor may send SIGTERM at any moment, even mid-start.
  const stop = () => {
    started
      .then((server) => server.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const server = await started;
  console.log(`listening ${server.url}`);
  if (media === 'nginx') console.log(`media     ${server.media.rtmp} (RTMP, nginx-rtmp; no HTTP-FLV)`);
  else console.log(`media     ${server.media.rtmp} (RTMP)  ${server.media.http} (HTTP-FLV)`);
  if (values.dev) {
    console.log(`dev login POST ${server.httpUrl}/api/login {"account":"alice"} -> {"token":...}`);
    if (FROM_SOURCE)
      console.log(
        `DevTools  import the folder ${resolve(__dirname, '..')} (it opens dist/ via project.config.json)`,
      );
    console.log(
      `${FROM_SOURCE ? '         ' : 'app      '} on the login page, set the server to ${server.url}`,
    );
  }
  if (liveMix ?? values.dev)
    console.log(`live      rooms are mixed; anyone watches one at ${server.httpUrl}/live/<channelName>`);
  if (echo !== false && (echo !== undefined || values.dev)) {
    const { account = 'echo', delayMs = 0 } = typeof echo === 'object' ? echo : {};
    const delay = delayMs > 0 ? ` ${delayMs} ms later` : '';
    console.log(`echo      call "${account}" to see and hear yourself${delay} (one phone is enough)`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? inFlags(error.message) : error);
  process.exit(1);
});
