/**
 * Finding nginx and its RTMP module on this machine, and the one nginx config our plane runs it with.
 *
 * Owns: the generated config (pure text from typed settings) and the checks that refuse to start without
 * nginx or ngx_rtmp_module, naming the Debian packages. Must never start nginx (process.ts does) and never
 * read or write anything outside the plane's private folder.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const INSTALL_HINT = 'Debian/Ubuntu: apt-get install nginx libnginx-mod-rtmp';
const MODULE_FILE = 'ngx_rtmp_module.so';
// Debian's --modules-path; used when `nginx -V` does not name one.
const DEFAULT_MODULES_DIR = '/usr/lib/nginx/modules';
// Root's PATH has /usr/sbin, an ordinary user's often does not.
const FALLBACK_BINARY = '/usr/sbin/nginx';

export interface NginxInstall {
  binary: string;
  /** The `load_module` path, or undefined when the binary has the RTMP module built in. */
  modulePath?: string;
  version: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findBinary(explicit?: string): string {
  if (explicit !== undefined) {
    if (!isExecutable(explicit))
      throw new Error(`media 'nginx': ${explicit} is not an executable nginx (${INSTALL_HINT})`);
    return explicit;
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((dir) => path.join(dir, 'nginx')), FALLBACK_BINARY])
    if (isExecutable(candidate)) return candidate;
  throw new Error(
    `media 'nginx' needs nginx, found neither on PATH nor at ${FALLBACK_BINARY} (${INSTALL_HINT})`,
  );
}

/** `nginx -V` prints its version and configure arguments on stderr. */
function versionInfo(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-V'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`media 'nginx': \`${binary} -V\` failed: ${error.message}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/**
 * The nginx binary and the RTMP module it should load. Refuses (naming what to install) when either is
 * missing, so the server never starts half a media plane.
 */
export async function locateNginx(
  options: { binary?: string; modulePath?: string } = {},
): Promise<NginxInstall> {
  const binary = findBinary(options.binary);
  const info = await versionInfo(binary);
  const version = /nginx version: nginx\/(\S+)/.exec(info)?.[1] ?? 'unknown';
  if (options.modulePath === undefined && /--add-module=\S*rtmp/.test(info)) return { binary, version };
  const modulePath =
    options.modulePath ??
    path.join(/--modules-path=(\S+)/.exec(info)?.[1] ?? DEFAULT_MODULES_DIR, MODULE_FILE);
  if (!existsSync(modulePath))
    throw new Error(`media 'nginx' needs the RTMP module, not found at ${modulePath} (${INSTALL_HINT})`);
  return { binary, modulePath, version };
}

/** `user` for the worker when we run as root: nginx's default group `nobody` does not exist on Debian. */
export function workerUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let groups = '';
  try {
    groups = readFileSync('/etc/group', 'utf8');
  } catch {
    // no /etc/group: nginx will say what it misses
  }
  return /^nogroup:/m.test(groups) ? 'nobody nogroup' : 'nobody nobody';
}

/** What the config is made of; every path absolute and inside the plane's private folder. */
export interface NginxSettings {
  modulePath?: string;
  /** Worker user when nginx starts as root (`user nobody nogroup`); ignored by nginx otherwise, so left out. */
  workerUser?: string;
  pidFile: string;
  tempDir: string;
  /** RTMP listen address (the server's bind) and port. */
  rtmpListen: string;
  /** The rtmp_control + readiness server, 127.0.0.1 only. */
  controlPort: number;
  /** Secret first path segment of the control locations, so another local user cannot drop streams. */
  controlPrefix: string;
  /** Body of `GET /<controlPrefix>/ready`: proves the answering nginx is the one we started. */
  readyToken: string;
  /** Base of the hook URLs, e.g. `http://127.0.0.1:4000/media-hooks/<secret>`. */
  hookBase: string;
  app: string;
  maxConnections: number;
  publishIdleSeconds: number;
  updateIntervalSeconds: number;
  logLevel: 'debug' | 'info' | 'notice' | 'warn' | 'error';
}

/** `listen` argument for an address and port: IPv6 literals in brackets. */
export function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The whole nginx config. One worker process: nginx-rtmp keeps a stream's publisher and players in one
 * worker, and rtmp_control only reaches the worker that answers it, so a second worker would split streams
 * and let a revoked session live on. Logs go to stderr, which the supervisor forwards to our logger.
 */
export function renderNginxConfig(s: NginxSettings): string {
  const temp = (name: string) => path.join(s.tempDir, name);
  const hook = (name: string) => `${s.hookBase}/${name}`;
  return `# Generated by miniprogram-netcall's nginx media plane; rewritten at every start. Do not edit.
${s.modulePath ? `load_module ${s.modulePath};\n` : ''}${s.workerUser ? `user ${s.workerUser};\n` : ''}daemon off;
master_process on;
worker_processes 1;
pid ${s.pidFile};
error_log stderr ${s.logLevel};

events {
    worker_connections ${s.maxConnections};
}

rtmp {
    # nginx-rtmp logs to the system's access log by default, every signed URL with it.
    access_log off;

    server {
        listen ${s.rtmpListen};
        chunk_size 4096;
        # A connection that sends nothing for this long is closed (a half-open phone after a network change).
        timeout 60s;
        ping 30s;
        ping_timeout 15s;

        application ${s.app} {
            live on;
            record off;
            # Players may connect before their publisher (the peer's player often starts first in a call).
            idle_streams on;
            # A late joiner starts on a keyframe, with no audio before it: a player that probes a short
            # start (ffmpeg, <live-player>) would otherwise find audio and no video.
            wait_key on;
            wait_video on;
            # A publisher silent this long is dropped, so its own reconnection is not refused as a duplicate.
            drop_idle_publisher ${s.publishIdleSeconds}s;

            # Every publish and play is decided by our server, before any media flows: 2xx allows, 403 refuses.
            notify_method post;
            on_publish ${hook('publish')};
            on_play ${hook('play')};
            # Re-asked for every running session: a session that outlived its revocation is refused and cut.
            on_update ${hook('update')};
            notify_update_timeout ${s.updateIntervalSeconds}s;
            on_done ${hook('done')};
        }
    }
}

http {
    access_log off;
    server_tokens off;
    # GETs only; a body that came anyway stays in memory, never in the temp paths.
    client_max_body_size 1k;
    client_body_temp_path ${temp('body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};

    server {
        listen 127.0.0.1:${s.controlPort};
        location = /${s.controlPrefix}/ready {
            default_type text/plain;
            return 200 "${s.readyToken}";
        }
        # Only drop: record and redirect stay unreachable.
        location /${s.controlPrefix}/control/drop/ {
            rtmp_control all;
        }
        location / {
            return 404;
        }
    }
}
`;
}
