/**
 * Runs one of WeChat's own tools from miniprogram-ci (DevTools' build and analysis code, published for CI) in a
 * process of its own: `ts-node test/package/wechat-ci.ts '<json task>'` prints the result as JSON on its last
 * line. A child process because miniprogram-ci loads about a thousand modules, polyfills globals (core-js 2)
 * and leaves a file watcher running: none of that should live in a Jest worker. Everything here runs offline;
 * `privateKey` is a placeholder because `Project` insists on one, and neither task below reads it.
 *
 * Tasks:
 * - `{"task": "packNpm", "packageJsonPath": …, "miniprogramNpmDistDir": …}`: DevTools' "build npm" with
 *   project.config.json's `packNpmManually` + `packNpmRelationList` (`ci.packNpmManually`).
 * - `{"task": "quality", "projectPath": …}`: DevTools' code quality scan (`ci.checkCodeQuality`).
 * - `{"task": "analyse", "projectPath": …}`: DevTools' static dependency analysis (`ci.analyseCode`).
 */
import * as ci from 'miniprogram-ci';
import type { WechatTask } from './wechat';

function project(projectPath: string): ci.Project {
  return new ci.Project({
    appid: 'touristappid',
    type: 'miniProgram',
    projectPath,
    privateKey: 'not-read-offline',
    ignores: ['node_modules/**/*'],
  });
}

async function run(task: WechatTask): Promise<unknown> {
  switch (task.task) {
    case 'packNpm':
      return ci.packNpmManually({
        packageJsonPath: task.packageJsonPath,
        miniprogramNpmDistDir: task.miniprogramNpmDistDir,
      });
    case 'quality':
      return ci.checkCodeQuality(project(task.projectPath));
    case 'analyse':
      return ci.analyseCode(project(task.projectPath), { silent: true });
  }
}

run(JSON.parse(process.argv[2]) as WechatTask).then(
  (result) => {
    process.stdout.write(`\n${JSON.stringify(result ?? null)}\n`);
    // Its watcher would keep the process alive.
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
