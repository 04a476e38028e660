'use strict';
/**
 * npm's `prepare` script: builds miniprogram_dist/ (`gulp dist`), then the server package's JavaScript
 * (server/build.js, so `npx miniprogram-netcall-server` runs in a fresh clone). npm runs it on `npm install` / `npm ci` in
 * this repo, on `npm pack` / `npm publish`, and when an app installs the kit from a git URL (npm clones it,
 * installs its dev dependencies, runs `prepare`, then packs it): without it a git install has no
 * miniprogram_dist/ at all, because git installs skip `prepack`.
 * An install without dev dependencies (`npm ci --omit=dev`, e.g. deploying the server) has no gulp and no use
 * for a mini-program build, so there it says so and succeeds instead of failing the install.
 * Plain JavaScript: it must run before (or without) ts-node.
 */
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
let gulp;
try {
  // gulp's `exports` hides its bin; its main file sits beside it.
  gulp = path.join(path.dirname(require.resolve('gulp', { paths: [root] })), 'bin', 'gulp.js');
} catch {
  console.error(
    '[netcall] prepare: gulp is not installed (dev dependencies omitted); miniprogram_dist/ not built',
  );
  process.exit(0);
}
// gulp logs to stdout, which `npm pack --json` keeps for its own report.
const result = spawnSync(process.execPath, [gulp, 'dist'], {
  cwd: root,
  stdio: ['ignore', process.stderr, 'inherit'],
});
if (result.status !== 0) process.exit(result.status === null ? 1 : result.status);
// Packing the kit needs only miniprogram_dist/; the server package builds itself when it is packed.
if (process.env.npm_command === 'pack' || process.env.npm_command === 'publish') process.exit(0);
const server = spawnSync(process.execPath, [path.join(root, 'server', 'build.js')], {
  cwd: root,
  stdio: ['ignore', process.stderr, 'inherit'],
});
process.exit(server.status === null ? 1 : server.status);
