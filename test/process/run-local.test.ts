/** @jest-environment node */
/**
 * deploy/run-local.sh end to end, as an operator runs it: two nodes, their secrets from an env file, on free
 * loopback ports. Once it prints its URLs, a real client logs in at each node (in the order the printed client
 * line gives), and a call from node 1's client to node 2's rings and is answered: the cluster it started works.
 * Then SIGTERM: the script stops on its own, and every process it started (redis-server, the nodes, their
 * nginx and helpers) is gone by the time its output closes, and so is its temp folder, Redis's AOF with it.
 *
 * The media plane is whatever the script picks by itself: nginx-rtmp where Debian's nginx has the RTMP module,
 * as in CI (the nginx tests need it too), so this expects nginx and its processes.
 *
 * Linux only: processes are found and checked through /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../server/index';
import { CLI_TEST_TIMEOUT_MS } from '../helpers/cli';
import { canListen } from '../helpers/ports';
import { closeClients, connectClient, establishCall } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'deploy/run-local.sh');
/** Start-up, with a build of server/dist when it is stale and nginx on a loaded machine, fits in this. */
const READY_TIMEOUT_MS = 90_000;
/** Once the script exited, its prefixers read the end of their pipes at once; this is only a bound. */
const OUTPUT_CLOSE_MS = 10_000;

const SECRET = randomBytes(32).toString('hex');
const METRICS_TOKEN = randomBytes(32).toString('hex');

// ---- Processes, through /proc ----------------------------------------------------------------------------

interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, names a process even after its pid is reused. */
  start: string;
  state: string;
  comm: string;
  cmdline: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    // Fields after the command's name, from field 3 (state) on: ppid is field 4, starttime field 22.
    const fields = stat.slice(close + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    return { pid, ppid: Number(fields[1]), start: fields[19], state: fields[0], comm, cmdline };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process descended from `root` now. */
function descendants(root: number): Proc[] {
  const all = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((proc): proc is Proc => proc !== undefined);
  const found: Proc[] = [];
  const parents = [root];
  while (parents.length > 0) {
    const parent = parents.pop()!;
    for (const proc of all.filter((p) => p.ppid === parent)) {
      found.push(proc);
      parents.push(proc.pid);
    }
  }
  return found;
}

/** Still running: the same process (pid and start time), and not a zombie (which has exited). */
function running(proc: Proc): boolean {
  const now = readProc(proc.pid);
  return now !== undefined && now.start === proc.start && now.state !== 'Z' && now.state !== 'X';
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([promise.then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

// ---- Ports -----------------------------------------------------------------------------------------------

/**
 * `count` consecutive ports free on loopback, below the range the kernel hands out for port 0 and outgoing
 * connections, so no other test's server or client can take one of them meanwhile.
 */
async function freeBlock(count: number): Promise<number> {
  const ephemeral = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  const top = Math.max(20_000, (ephemeral || 32_768) - count);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (top - 10_000));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => canListen(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

// ---- server/dist -----------------------------------------------------------------------------------------

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('dist.')) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/**
 * Whether server/dist was built after the last change to what it is compiled from. On a fresh clone it is:
 * `npm ci` runs `prepare`, which builds it. Then the script runs it as it is (--no-build), and never swaps
 * server/dist while another test (the server package's) packs it. A stale one is rebuilt by the script itself
 * rather than tested: it would be yesterday's server.
 */
function distIsFresh(): boolean {
  const cli = path.join(ROOT, 'server/dist/server/cli.js');
  if (!fs.existsSync(cli)) return false;
  const built = fs.statSync(cli).mtimeMs;
  return ['server', 'services', 'typings'].every((dir) => newestSource(path.join(ROOT, dir)) <= built);
}

// ---- The script ------------------------------------------------------------------------------------------

interface Run {
  child: ChildProcess;
  /** stdout and stderr, as they came. */
  output(): string;
  stdout(): string;
  /** Resolves with the script's exit code once it exited. */
  exited: Promise<number | null>;
  /**
   * Resolves once the script exited and every process holding its output let go of it: the processes it
   * started write through it (each through a prefixer of its own), so this is when the last of them is gone.
   */
  closed: Promise<void>;
  /** Resolves with the first match of `pattern` in its stdout; rejects if it closes first, or in time. */
  line(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

function startScript(args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn('bash', [SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  const closed = new Promise<void>((resolve) => {
    child.on('close', () => resolve());
    child.on('error', () => resolve());
  });
  const line = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stdout);
        if (!match) return;
        done();
        resolve(match);
      };
      const fail = (why: string) => {
        done();
        reject(new Error(`no ${pattern} ${why}; the script's output:\n${out}`));
      };
      const timer = setTimeout(() => fail(`within ${timeoutMs} ms`), timeoutMs);
      const onClose = (code: number | null) => fail(`before it exited (${code})`);
      const done = () => {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.off('close', onClose);
      };
      child.stdout!.on('data', check);
      child.once('close', onClose);
      check();
    });
  return { child, output: () => out, stdout: () => stdout, exited, closed, line };
}

let dir: string;
let run: Run | undefined;
let seen: Proc[] = [];

afterAll(async () => {
  closeClients();
  // Only when the test failed half-way: the script stops what it started, and what it left is killed here.
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    seen = [...seen, ...descendants(run.child.pid!)];
    run.child.kill('SIGTERM');
    const timer = setTimeout(() => run?.child.kill('SIGKILL'), 60_000);
    await run.exited;
    clearTimeout(timer);
  }
  for (const proc of seen) if (running(proc)) process.kill(proc.pid, 'SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('deploy/run-local.sh', () => {
  it(
    'starts two nodes that carry a call between them, and on SIGTERM leaves no process and no file behind',
    async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-local-test-'));
      const tmp = path.join(dir, 'tmp');
      fs.mkdirSync(tmp);
      const envFile = path.join(dir, 'netcall.env');
      fs.writeFileSync(
        envFile,
        [
          '# as deploy/.env holds them',
          `NETCALL_SECRET=${SECRET}`,
          `NETCALL_MEDIA_SECRET='${randomBytes(32).toString('hex')}'`,
          `NETCALL_METRICS_TOKEN=${METRICS_TOKEN}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      // Signalling P, P+1; RTMP P+2, P+3; Redis P+4.
      const base = await freeBlock(5);
      // The developer's NETCALL_* would win over the env file (the environment does, as in compose).
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('NETCALL_') && name !== 'NODE_ENV'),
      );
      const args = [
        '--nodes',
        '2',
        '--port',
        String(base),
        '--rtmp-port',
        String(base + 2),
        '--redis-port',
        String(base + 4),
        '--host',
        '127.0.0.1',
        '--public-host',
        '127.0.0.1',
        '--log-level',
        'warn',
        '--env-file',
        envFile,
        ...(distIsFresh() ? ['--no-build'] : []),
      ];
      run = startScript(args, { ...env, TMPDIR: tmp });

      await run.line(/^ {2}Ctrl-C stops them all\.$/m, READY_TIMEOUT_MS);
      const printed = run.stdout();
      expect(printed).toMatch(/^run-local: 2 node\(s\) sharing \S+, media plane: nginx$/m);
      const client = /^ {2}client: +new Netcall\(\{ server: \[(.*)\], account, token \}\)$/m.exec(printed);
      expect(client).not.toBeNull();
      const urls = client![1].split(',').map((url) => url.replace(/'/g, ''));
      expect(urls).toEqual([`ws://127.0.0.1:${base}`, `ws://127.0.0.1:${base + 1}`]);

      // Each node is up on its own id, on one Redis, with the metrics token from the env file.
      for (const [i, url] of urls.entries()) {
        const res = await fetch(`${url.replace(/^ws/, 'http')}/healthz`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(await res.json()).toMatchObject({
          status: 'ok',
          media: 'up',
          redis: 'up',
          node: `netcall${i + 1}`,
          connections: 0,
        });
      }

      // As the printed line says, each with the list in its own order: alice logs in at node 1, bob at node 2.
      const login = (account: string, server: string[]) =>
        connectClient(server[0], account, { server, token: mintToken(SECRET, account) });
      const alice = await login('alice', urls);
      const bob = await login('bob', [...urls].reverse());
      for (const url of urls) {
        const res = await fetch(`${url.replace(/^ws/, 'http')}/healthz`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(await res.json()).toMatchObject({ connections: 1, online: 2 });
      }
      // The positive control for the cluster: a call across the nodes rings, is answered, and gets media.
      const { syncA, syncB } = await establishCall(alice, bob);
      expect(syncA.userlist.map((user) => user.account).sort()).toEqual(['alice', 'bob']);
      expect(syncB.userlist.length).toBeGreaterThan(0);

      seen = descendants(run.child.pid!);
      const names = seen.map((proc) => proc.comm);
      expect(names.filter((name) => name === 'redis-server')).toHaveLength(1);
      const nodes = seen.filter((proc) => proc.comm === 'node' && proc.cmdline.includes('cli.js'));
      expect(nodes.map((proc) => /--node-id (\S+)/.exec(proc.cmdline)?.[1]).sort()).toEqual([
        'netcall1',
        'netcall2',
      ]);
      // A master and a worker per node.
      expect(names.filter((name) => name === 'nginx').length).toBeGreaterThanOrEqual(4);
      const [work] = fs.readdirSync(tmp);
      expect(fs.readdirSync(tmp)).toEqual([expect.stringMatching(/^netcall-local\./)]);
      // Redis writes its AOF there: the persistence production has, in the folder that goes at the end.
      expect(fs.readdirSync(path.join(tmp, work))).toContain('appendonlydir');

      run.child.kill('SIGTERM');
      // Its own exit code for SIGTERM: the script stopped on its own, after its cleanup, not killed.
      expect(await run.exited).toBe(143);
      // Bounded, so that a process it left behind fails here, by name, rather than at the test's timeout.
      const outputClosed = await within(run.closed, OUTPUT_CLOSE_MS);
      const left = seen
        .filter(running)
        .map((proc) => `${proc.pid} ${proc.comm}: ${proc.cmdline}`)
        .join('\n');
      expect(left).toBe('');
      expect(outputClosed).toBe(true);
      expect(fs.readdirSync(tmp)).toEqual([]);
      expect(run.output()).toContain('run-local: stopping');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
