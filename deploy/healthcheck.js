'use strict';
/**
 * The image's HEALTHCHECK: healthy while `GET /healthz` on the server's own port answers 200 with status
 * "ok". The status code alone would not do: /healthz answers 200 with "degraded" while the media plane is down.
 * The port and address come from the server's command line (PID 1 is tini running it), so a container
 * started with another --port needs no second setting kept in step with it. Plain JavaScript: the image has
 * no TypeScript, and no curl.
 */
const fs = require('fs');

/** A flag's value, as `--name value` or `--name=value`. */
function flagValue(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

let args = [];
try {
  args = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0');
} catch {
  // Not readable: the server's defaults below.
}
const port = flagValue(args, '--port') ?? '8080';
const listen = flagValue(args, '--host');
// A wildcard listen address answers on loopback; a specific one only on itself.
const host =
  listen === undefined || listen === '0.0.0.0' || listen === '::'
    ? '127.0.0.1'
    : listen.includes(':')
      ? `[${listen}]`
      : listen;
const url = `http://${host}:${port}/healthz`;

fetch(url, { signal: AbortSignal.timeout(4000) })
  .then(async (res) => {
    const body = await res.text();
    let status;
    try {
      status = JSON.parse(body).status;
    } catch {
      // not JSON: reported below
    }
    // What Docker keeps for `docker inspect`: enough to tell a degraded plane from a dead server.
    console.log(`${url} ${res.status} ${body.slice(0, 200)}`);
    process.exit(res.status === 200 && status === 'ok' ? 0 : 1);
  })
  .catch((error) => {
    console.log(`${url} ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
