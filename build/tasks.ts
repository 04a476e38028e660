import fs from 'fs';
import path from 'path';
import { dest, parallel, series, src, watch } from 'gulp';
import type { TaskFunction } from 'gulp';
import { type BuildConfig, type Target, routeFile } from './config';
import { copyNpmDependencies } from './npm';
import { compile, watchCompile } from './typescript';

export interface Tasks {
  clean: TaskFunction;
  build: TaskFunction;
  dist: TaskFunction;
  watch: TaskFunction;
}

export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(`[netcall] ${message}`),
  error: (message) => console.error(`[netcall] ${message}`),
};

/** gulp shows `displayName` in its log; plain closures would all be called "<anonymous>". */
function named<T extends TaskFunction>(name: string, task: T): T {
  task.displayName = name;
  return task;
}

function assetGlobs(config: BuildConfig, from: string): string[] {
  return [`${from}/**/*.{${config.assetExtensions.join(',')}}`, ...config.excludeGlobs.map((g) => `!${g}`)];
}

function cleanTask(target: Target): TaskFunction {
  return named(`clean:${target.name}`, async () => {
    fs.rmSync(target.outDir, { recursive: true, force: true });
  });
}

function compileTask(config: BuildConfig, target: Target, log: Logger): TaskFunction {
  return named(`ts:${target.name}`, async () => {
    const { written } = compile(config, target);
    log.info(`${target.name}: compiled ${written.length} file(s)`);
  });
}

function assetsTask(config: BuildConfig, target: Target): TaskFunction {
  const copies = target.routes.map((route) =>
    named(`assets:${target.name}:${route.from}`, () =>
      // encoding:false because gulp 5 reads files as UTF-8 by default, which corrupts images.
      src(assetGlobs(config, route.from), {
        cwd: config.root,
        base: path.join(config.root, route.from),
        encoding: false,
        allowEmpty: true,
      }).pipe(dest(path.join(target.outDir, route.to))),
    ),
  );
  return parallel(...copies);
}

function kitIndexTask(target: Target): TaskFunction {
  return named(`index:${target.name}`, async () => {
    const dir = path.join(target.outDir, target.kitRoot);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'index.js'),
      "'use strict';\nmodule.exports = require('./services/index');\n",
    );
    // The package entry's types: the services, and the components' own types (type-only, so no JavaScript).
    // Joined here, above both layers, rather than by services/ reaching up into components/.
    if (target.declarations)
      fs.writeFileSync(
        path.join(dir, 'index.d.ts'),
        "export * from './services/index';\nexport type * from './components/types';\n",
      );
  });
}

function npmTask(config: BuildConfig, target: Target, log: Logger): TaskFunction {
  return named(`npm:${target.name}`, async () => {
    copyNpmDependencies(config.root, config.npmDependencies, target.outDir);
    log.info(
      `${target.name}: copied ${config.npmDependencies.join(', ')} (and their dependencies) to miniprogram_npm/`,
    );
  });
}

function sourceFileToOutput(config: BuildConfig, target: Target, file: string): string | null {
  const out = routeFile(config, target, path.resolve(config.root, file));
  return out && out.replace(/\.ts$/, '.js');
}

/** Mirrors asset changes file by file; TypeScript changes go through the compiler's own watcher. */
function watchTask(config: BuildConfig, target: Target, log: Logger): TaskFunction {
  return named(`watch:${target.name}`, () => {
    watchCompile(config, target, log);
    for (const route of target.routes) {
      const assets = watch(assetGlobs(config, route.from), { cwd: config.root, ignoreInitial: true });
      const copy = (file: string) => {
        const out = sourceFileToOutput(config, target, file);
        if (!out) return;
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.copyFileSync(path.resolve(config.root, file), out);
        log.info(`copied ${file}`);
      };
      assets.on('add', copy).on('change', copy);
      // A deleted source must take its output with it, or dist keeps serving a file that no longer exists.
      const sources = watch([`${route.from}/**/*.ts`, ...assetGlobs(config, route.from)], {
        cwd: config.root,
        ignoreInitial: true,
      });
      sources.on('unlink', (file: string) => {
        const out = sourceFileToOutput(config, target, file);
        if (!out || file.endsWith('.d.ts')) return;
        fs.rmSync(out, { force: true });
        log.info(`removed ${path.relative(config.root, out)}`);
      });
    }
    // Never signals completion: the watchers keep running until the process is stopped.
  });
}

export function createTasks(config: BuildConfig, log: Logger = consoleLogger): Tasks {
  const { app, pkg } = config;
  const build = series(
    cleanTask(app),
    parallel(
      compileTask(config, app, log),
      assetsTask(config, app),
      kitIndexTask(app),
      npmTask(config, app, log),
    ),
  );
  // The declarations of the kit import types from typings/ (NetEase's SDK), so the package ships them.
  const typings = named('typings:pkg', () =>
    src('typings/*.d.ts', { cwd: config.root, allowEmpty: true }).pipe(
      dest(path.join(pkg.outDir, 'typings')),
    ),
  );
  const dist = series(
    cleanTask(pkg),
    parallel(compileTask(config, pkg, log), assetsTask(config, pkg), kitIndexTask(pkg), typings),
  );
  return {
    clean: parallel(cleanTask(app), cleanTask(pkg)),
    build,
    dist,
    // The compiler's watcher does the first full compile itself, so `build`'s would be wasted work.
    watch: series(
      cleanTask(app),
      parallel(assetsTask(config, app), kitIndexTask(app), npmTask(config, app, log)),
      watchTask(config, app, log),
    ),
  };
}
