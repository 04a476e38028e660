/** Shared by the package tests: WeChat's tools in a child process (wechat-ci.ts), and a clean environment. */
import { spawnSync } from 'child_process';
import { createRequire } from 'module';
import path from 'path';

// miniprogram-api-typings redeclares the global `require` without `resolve`; this one is Node's.
const nodeRequire = createRequire(__filename);

/** What wechat-ci.ts can run (see there). */
export type WechatTask =
  | { task: 'packNpm'; packageJsonPath: string; miniprogramNpmDistDir: string }
  | { task: 'quality'; projectPath: string }
  | { task: 'analyse'; projectPath: string };

/**
 * The environment without npm's `npm_*` variables: under `npm test` they carry this repo's config (prefix,
 * user agent, the running script), which a child `npm` run in another project must not inherit.
 */
export function sanitizedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

/** Runs `task` with miniprogram-ci in its own process and returns what it resolved to. */
export function runWechat(task: WechatTask): unknown {
  const result = spawnSync(
    process.execPath,
    [
      nodeRequire.resolve('ts-node/dist/bin.js'),
      '--transpile-only',
      path.join(__dirname, 'wechat-ci.ts'),
      JSON.stringify(task),
    ],
    { env: sanitizedEnv(), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0)
    throw new Error(
      `miniprogram-ci ${task.task} failed (${result.status}):\n${result.stderr}\n${result.stdout}`,
    );
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as unknown;
}
