'use strict';
/**
 * Builds the server package: TypeScript to dist/ (tsconfig.build.json), the web viewer's files beside the
 * compiled code that serves them, and a `#!/usr/bin/env -S node <flags>` line on the CLI so `npx
 * miniprogram-netcall-server` runs it with plain node (no ts-node in production) and node's flags for it
 * (node-flags.json). Plain JavaScript: it runs before anything is compiled.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const dist = path.join(here, 'dist');
// Built beside it and swapped in at the end: whoever runs dist/ meanwhile never sees a half-written one.
const staging = path.join(here, `dist.building-${process.pid}`);
fs.rmSync(staging, { recursive: true, force: true });

const tsc = require.resolve('typescript/bin/tsc', { paths: [here, path.join(here, '..')] });
const compiled = spawnSync(
  process.execPath,
  [tsc, '-p', path.join(here, 'tsconfig.build.json'), '--outDir', staging],
  { stdio: 'inherit' },
);
if (compiled.status !== 0) {
  fs.rmSync(staging, { recursive: true, force: true });
  process.exit(compiled.status === null ? 1 : compiled.status);
}

fs.cpSync(path.join(here, 'viewer'), path.join(staging, 'server', 'viewer'), { recursive: true });

const cli = path.join(staging, 'server', 'cli.js');
const code = fs.readFileSync(cli, 'utf8');
// `env -S` splits the line, so node gets its own flags (node-flags.json) before the script.
const { flags } = JSON.parse(fs.readFileSync(path.join(here, 'node-flags.json'), 'utf8'));
const shebang = flags.length > 0 ? `#!/usr/bin/env -S node ${flags.join(' ')}` : '#!/usr/bin/env node';
if (!code.startsWith('#!')) fs.writeFileSync(cli, `${shebang}\n${code}`);
fs.chmodSync(cli, 0o755);

fs.rmSync(dist, { recursive: true, force: true });
fs.renameSync(staging, dist);
