import fs from 'fs';
import path from 'path';

/** The kit's npm name: the demo imports it by this name and DevTools resolves it under miniprogram_npm/. */
export const PACKAGE_NAME = 'miniprogram-netcall';

/** Where a source folder's files land in an output tree (`to` is relative to the output root). */
export interface Route {
  from: string;
  to: string;
}

/** One output tree: what goes in, where, and whether TypeScript users get declarations. */
export interface Target {
  name: string;
  outDir: string;
  routes: Route[];
  /** Folder (relative to `outDir`) holding the kit, where an index.js re-exporting services is written. */
  kitRoot: string;
  declarations: boolean;
}

export interface BuildConfig {
  /** Repository (or fixture) root; every other path is absolute. */
  root: string;
  /** Supplies compiler settings (target, lib, strictness); the file list comes from `sourceDirs`. */
  tsconfig: string;
  /** The demo app plus the kit, laid out the way WeChat DevTools opens it (`miniprogramRoot`). */
  app: Target;
  /** The kit alone, as the npm package ships it (package.json `miniprogram`). */
  pkg: Target;
  /** Runtime npm dependencies copied to `<app>/miniprogram_npm/<name>/` so DevTools needs no "build npm". */
  npmDependencies: string[];
  /** Non-TypeScript files a mini-program loads at run time; anything else (README, fixtures) stays out. */
  assetExtensions: string[];
  /** Test files may sit next to sources one day; they must never reach an output tree. */
  excludeGlobs: string[];
}

export const ASSET_EXTENSIONS = ['wxml', 'wxss', 'wxs', 'json', 'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp'];

export const EXCLUDE_GLOBS = ['**/*.test.ts', '**/*.spec.ts', '**/__tests__/**'];

export interface ConfigOptions {
  /** Overrides the app output folder (tests build into a temporary folder, not the one DevTools has open). */
  appOutDir?: string;
  pkgOutDir?: string;
}

export function createConfig(root: string, options: ConfigOptions = {}): BuildConfig {
  const kit = `miniprogram_npm/${PACKAGE_NAME}`;
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return {
    root,
    tsconfig: path.join(root, 'tsconfig.src.json'),
    app: {
      name: 'app',
      outDir: options.appOutDir ?? path.join(root, 'dist'),
      routes: [
        { from: 'miniprogram', to: '' },
        { from: 'services', to: `${kit}/services` },
        { from: 'components', to: `${kit}/components` },
      ],
      kitRoot: kit,
      declarations: false,
    },
    pkg: {
      name: 'pkg',
      outDir: options.pkgOutDir ?? path.join(root, 'miniprogram_dist'),
      routes: [
        { from: 'services', to: 'services' },
        { from: 'components', to: 'components' },
      ],
      kitRoot: '',
      declarations: true,
    },
    npmDependencies: Object.keys(manifest.dependencies ?? {}),
    assetExtensions: ASSET_EXTENSIONS,
    excludeGlobs: EXCLUDE_GLOBS,
  };
}

/**
 * Maps a source file (absolute) to its place in `target`, or null when the target does not ship it.
 * Outputs of the TypeScript compiler are passed with their source-relative path, so `.js`/`.d.ts` work too.
 */
export function routeFile(config: BuildConfig, target: Target, file: string): string | null {
  const rel = path.relative(config.root, file).split(path.sep).join('/');
  for (const route of target.routes) {
    if (rel === route.from || rel.startsWith(`${route.from}/`)) {
      return path.join(target.outDir, route.to, rel.slice(route.from.length + 1));
    }
  }
  return null;
}
