/** @jest-environment node */
/**
 * deploy/ as a contract, checked without Docker (no engine where the tests run): the image's final stage has
 * nginx with its RTMP module, runs as a non-root user, has a HEALTHCHECK and bakes in no secret, and every file
 * it copies is let into the build context; compose.yaml reads as YAML, its nodes share one Redis (with an AOF
 * on a volume) under distinct node ids the server accepts, and its secrets come from an env file whose example
 * holds none; and every flag that compose.yaml and run-local.sh hand the CLI, or that the image's health check
 * reads from its command line, is one its --help lists. run-local.sh runs end to end in run-local.test.ts; the
 * image and the compose file are not run here.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveCluster } from '../../server/config';
import { flags as NODE_FLAGS } from '../../server/node-flags.json';

const ROOT = path.resolve(__dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

// ---- Dockerfile and .dockerignore ------------------------------------------------------------------------

/** Instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** moby's rule: the last pattern that matches the path, or a folder it is in, decides. */
function dockerignored(patterns: string[], file: string): boolean {
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const glob = (negated ? raw.slice(1) : raw).replace(/\/+$/, '');
    const source = glob
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((part) =>
        part === '**/'
          ? '(.*/)?'
          : part === '**'
            ? '.*'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    const pattern = new RegExp(`^${source}$`);
    const parts = file.split('/');
    if (parts.some((_, k) => pattern.test(parts.slice(0, k + 1).join('/')))) excluded = !negated;
  }
  return excluded;
}

describe('deploy/Dockerfile', () => {
  const all = instructions(read('deploy/Dockerfile'));
  const lastFrom = all.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true);
  const final = all.slice(lastFrom);

  it('ends in node:20-bookworm-slim with Debian nginx and its RTMP module installed', () => {
    expect(final[0]).toMatch(/^FROM node:20-bookworm-slim(\s|$)/);
    const installs = final.filter((line) => /^RUN\s.*apt-get install/.test(line)).join(' ');
    expect(installs.split(/\s+/)).toEqual(expect.arrayContaining(['nginx', 'libnginx-mod-rtmp']));
  });

  it('runs as a non-root user, with a HEALTHCHECK that asks /healthz', () => {
    const users = final.filter((line) => /^USER\s/.test(line));
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
    const health = final.find((line) => /^HEALTHCHECK\s/.test(line));
    expect(health).toMatch(/\bCMD\b.*healthcheck\.js/);
    expect(read('deploy/healthcheck.js')).toContain('/healthz');
  });

  it('bakes in no secret', () => {
    const settings = all.filter((line) => /^(ENV|ARG)\s/.test(line)).join('\n');
    expect(settings).not.toMatch(/SECRET|TOKEN|PASSWORD/i);
  });

  it('copies only files that exist and that .dockerignore lets into the context, which keeps secrets out', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const sources = all
      .filter((line) => /^COPY\s/.test(line) && !/\s--from=/.test(line))
      .flatMap((line) =>
        line
          .split(/\s+/)
          .slice(1, -1)
          .filter((word) => !word.startsWith('--')),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect([source, fs.existsSync(path.join(ROOT, source))]).toEqual([source, true]);
      expect([source, dockerignored(patterns, source)]).toEqual([source, false]);
    }
    const keptOut = ['deploy/.env', 'node_modules/ws/index.js', 'server/dist/server/cli.js', '.git/config'];
    for (const file of keptOut) expect([file, dockerignored(patterns, file)]).toEqual([file, true]);
  });
});

// ---- compose.yaml ----------------------------------------------------------------------------------------

type Service = {
  image?: string;
  build?: { dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
};
// Merge keys (`<<: *node`) as Docker Compose reads them: the node services share one block.
const compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const nodeServices = Object.entries(compose.services).filter(
  ([, service]) => service.build?.dockerfile === 'deploy/Dockerfile',
);

/** Whether the server takes `id` as --node-id: its own check, which refuses the start otherwise. */
const nodeIdTaken = (id: string | undefined) => {
  try {
    resolveCluster({ redis: 'redis://redis:6379', nodeId: id }, () => 'unused');
    return true;
  } catch {
    return false;
  }
};

const flagValue = (args: readonly string[], flag: string) => {
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
};

describe('deploy/compose.yaml', () => {
  it('runs Redis 7 with its AOF on a named volume, and two or more nodes from the Dockerfile sharing it', () => {
    const redis = compose.services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|$)/);
    // A restarted Redis restores the calls in progress from its AOF, at most 1 s old.
    expect(flagValue(redis.command ?? [], '--appendonly')).toBe('yes');
    expect(flagValue(redis.command ?? [], '--appendfsync')).toBe('everysec');
    const data = (redis.volumes ?? [])
      .map((mount) => mount.split(':'))
      .find(([, inside]) => inside === '/data');
    expect(data).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data![0]);
    expect(nodeServices.length).toBeGreaterThanOrEqual(2);
    for (const [, service] of nodeServices) {
      expect(flagValue(service.command ?? [], '--redis')).toBe('redis://redis:6379');
      expect(flagValue(service.command ?? [], '--media')).toBe('nginx');
    }
    const ids = nodeServices.map(([, service]) => flagValue(service.command ?? [], '--node-id'));
    for (const id of ids) expect([id, nodeIdTaken(id)]).toEqual([id, true]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("publishes each node's ports under the numbers it listens on, no two nodes alike", () => {
    const published: string[] = [];
    for (const [, service] of nodeServices) {
      const command = service.command ?? [];
      const ports = (service.ports ?? []).map((mapping) => mapping.split(':'));
      for (const [outside, inside] of ports) expect(outside).toBe(inside);
      expect(ports.map(([, inside]) => inside).sort()).toEqual(
        [flagValue(command, '--port'), flagValue(command, '--rtmp-port')].sort(),
      );
      published.push(...ports.map(([outside]) => outside));
    }
    expect(new Set(published).size).toBe(published.length);
  });

  it('takes every secret from the env file, whose example holds none', () => {
    const example = read('deploy/.env.example');
    const declared = new Map(
      [...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map(([, name, setting]) => [name, setting]),
    );
    for (const [, service] of nodeServices) {
      for (const [name, setting] of Object.entries(service.environment ?? {}))
        expect([name, setting]).toEqual([name, expect.stringMatching(/^\$\{[A-Z_]+(:?[-?].*)?\}$/)]);
      expect(Object.keys(service.environment ?? {})).toEqual(
        expect.arrayContaining(['NETCALL_SECRET', 'NETCALL_MEDIA_SECRET']),
      );
    }
    for (const [, name] of read('deploy/compose.yaml').matchAll(/\$\{([A-Z_]+)/g))
      expect([name, declared.has(name)]).toEqual([name, true]);
    for (const [name, setting] of declared)
      if (/SECRET|TOKEN|PASSWORD/.test(name)) expect([name, setting]).toEqual([name, '']);
  });
});

// ---- Flags against the CLI's --help ----------------------------------------------------------------------

const flagsIn = (args: readonly string[]) =>
  args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]);

/**
 * The lines of `run-local.sh --dry-run`: each process's name and argv (a node's after the CLI's path), and
 * what comes between `node` and that path (node's own flags).
 */
function dryRun(...flags: string[]): Array<{ name: string; args: string[]; nodeFlags: string[] }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^NETCALL_(LOCAL_|PUBLIC_HOST)/.test(name)),
  );
  const out = execFileSync('bash', [path.join(DEPLOY, 'run-local.sh'), '--dry-run', ...flags], {
    encoding: 'utf8',
    env,
  });
  return [...out.matchAll(/^(redis|netcall\d+)\s+(.*)$/gm)].map(([, name, line]) => {
    const words = line.trim().split(/\s+/);
    const cli = words.findIndex((word) => word.endsWith('cli.js'));
    return { name, args: words.slice(cli + 1), nodeFlags: words.slice(1, Math.max(1, cli)) };
  });
}
const dryRunNodes = (...flags: string[]) => dryRun(...flags).filter((line) => line.name !== 'redis');

describe('the flags deploy/ passes to the CLI', () => {
  let listed: Set<string>;
  const used = new Map<string, Set<string>>();
  const use = (where: string, flags: string[]) =>
    flags.forEach((flag) => used.set(flag, (used.get(flag) ?? new Set()).add(where)));

  beforeAll(() => {
    const help = execFileSync(
      path.join(ROOT, 'node_modules/.bin/ts-node'),
      ['--transpile-only', 'server/cli.ts', '--help'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    listed = new Set(help.match(/--[a-z][a-z0-9-]*/g));
    for (const [name, service] of nodeServices) use(`compose.yaml ${name}`, flagsIn(service.command ?? []));
    for (const media of ['nginx', 'embedded'])
      for (const node of dryRunNodes('--media', media, '--public-host', 'rtc.example.com', '--nodes', '2'))
        use(`run-local.sh (${media}) ${node.name}`, flagsIn(node.args));
    const health = read('deploy/healthcheck.js');
    use(
      'healthcheck.js',
      [...health.matchAll(/flagValue\(args, '(--[a-z-]+)'\)/g)].map(([, flag]) => flag),
    );
  }, 60_000);

  it('run-local.sh starts nodes with distinct ids, each named by its id, on one Redis with an AOF', () => {
    const lines = dryRun('--media', 'nginx', '--nodes', '3');
    const nodes = lines.filter((line) => line.name !== 'redis');
    const ids = nodes.map((node) => flagValue(node.args, '--node-id'));
    expect(ids).toEqual(['netcall1', 'netcall2', 'netcall3']);
    for (const id of ids) expect([id, nodeIdTaken(id)]).toEqual([id, true]);
    expect(nodeIdTaken('netcall-1')).toBe(false); // the control: the check refuses what the server refuses
    expect(nodes.map((node) => node.name)).toEqual(ids);
    expect(new Set(nodes.map((node) => flagValue(node.args, '--redis'))).size).toBe(1);
    const redis = lines.find((line) => line.name === 'redis')!.args;
    expect(flagValue(redis, '--appendonly')).toBe('yes');
    expect(flagValue(redis, '--appendfsync')).toBe('everysec');
  });

  it("start signalling with node's flags of server/node-flags.json: run-local.sh's nodes and the image", () => {
    expect(NODE_FLAGS.length).toBeGreaterThan(0);
    for (const media of ['nginx', 'embedded'])
      for (const node of dryRunNodes('--media', media, '--nodes', '2'))
        expect([node.name, node.nodeFlags]).toEqual([node.name, NODE_FLAGS]);
    const entrypoint = instructions(read('deploy/Dockerfile')).find((line) => /^ENTRYPOINT\s/.test(line))!;
    const argv = JSON.parse(entrypoint.replace(/^ENTRYPOINT\s+/, '')) as string[];
    const node = argv.indexOf('node');
    const cli = argv.findIndex((word) => word.endsWith('/cli.js'));
    expect([node >= 0, cli > node]).toEqual([true, true]);
    expect(argv.slice(node + 1, cli)).toEqual(NODE_FLAGS);
  });

  it('are each listed by --help', () => {
    expect(used.size).toBeGreaterThan(5);
    const unknown = [...used]
      .filter(([flag]) => !listed.has(flag))
      .map(([flag, where]) => `${flag} (${[...where].join(', ')})`);
    expect(unknown).toEqual([]);
  });
});
