/**
 * What a mini-program ships for the kit, measured like the competitors in the README: runtime files only (js/wxml/wxss/json
 * of `gulp dist`, no .d.ts) plus the runtime deps as the build ships them; each .js minified with terser
 * (compress + mangle, per file, keeping the smaller of minified and original), each .wxss and .wxml with
 * comments and layout whitespace removed (what DevTools' "minify WXSS / WXML on upload" does, on in
 * project.config.json); gzip -9 as an indication. Icons are data URIs inside the WXSS, so they are counted
 * with it. Shared by the size benchmark and the size guard in test/guards/.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import zlib from 'zlib';
import { createRequire } from 'module';
import gulp, { type TaskFunction } from 'gulp';
import { minify } from 'terser';
import { createConfig } from '../../build/config';
import { createTasks, type Logger } from '../../build/tasks';

export const REPO_ROOT = path.resolve(__dirname, '../..');

const RUNTIME_EXTENSIONS = ['.js', '.wxml', '.wxss', '.json'];

/**
 * Files of the runtime deps that end up in a user's package. mobx-miniprogram (the only one) has no
 * `miniprogram` field, so "build npm" (and build/npm.ts) ships its `main`, the production bundle.
 */
export const RUNTIME_DEPENDENCY_FILES = ['mobx-miniprogram/dist/mobx.cjs.production.min.js'];

export interface FileSize {
  file: string;
  raw: number;
  minified: number;
  gzip: number;
}

export interface SizeReport {
  files: FileSize[];
  /** Built files no entry reaches (optional entries such as the NetEase adapter), measured apart. */
  optional: FileSize[];
  kit: Totals;
  dependencies: Totals;
  total: Totals;
}

export interface Totals {
  files: number;
  raw: number;
  minified: number;
  gzip: number;
}

const quiet: Logger = { info: () => undefined, error: () => undefined };

function runTask(task: TaskFunction): Promise<void> {
  return new Promise((resolve, reject) => task((error?: unknown) => (error ? reject(error) : resolve())));
}

/** Runs `gulp dist` into a fresh temporary folder (never the repo's miniprogram_dist/) and returns it. */
export async function buildPackage(): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netcall-size-'));
  const outDir = path.join(tmp, 'miniprogram_dist');
  // Outside the gulp CLI nobody listens for gulp's 'error' event; without this a failure would throw.
  gulp.on('error', () => undefined);
  const config = createConfig(REPO_ROOT, { pkgOutDir: outDir, appOutDir: path.join(tmp, 'dist') });
  await runTask(createTasks(config, quiet).dist);
  return outDir;
}

function listRuntimeFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listRuntimeFiles(full));
    else if (!entry.name.endsWith('.d.ts') && RUNTIME_EXTENSIONS.includes(path.extname(entry.name)))
      found.push(full);
  }
  return found.sort();
}

/**
 * What an app of each kind uses, as entries (modules it requires) and components (used in its pages): an app
 * with 1:1 calls only requires the package entry and shows `call-screen` (which uses the room, the pusher and
 * the player); an app with rooms and group calls also requires the group entry and shows `room-screen`; an
 * app with interactive live requires the live entry and shows `live-room`.
 */
export const PROFILES = {
  p2p: { entries: ['index.js'], components: ['call-screen'] },
  rooms: {
    entries: ['index.js', 'services/call/group-session.js'],
    components: ['call-screen', 'room-screen'],
  },
  live: {
    entries: ['index.js', 'services/live/live-session.js'],
    components: ['call-screen', 'live-room'],
  },
} as const;

export type Profile = keyof typeof PROFILES;

/**
 * The files an app ships when it uses the kit: everything reachable from its entries and from its components
 * (their js/json/wxml/wxss and what they require, @import or use). DevTools uploads only referenced files
 * ("filter unused files"), so an optional entry nobody requires, like the NetEase adapter, is not shipped by
 * apps on our backend; it is reported apart.
 */
function reachableFiles(dir: string, profile: Profile): Set<string> {
  const all = new Set(listRuntimeFiles(dir));
  const reached = new Set<string>();
  const { entries, components } = PROFILES[profile];
  const queue: string[] = entries.map((entry) => path.join(dir, entry));
  for (const name of components)
    for (const ext of RUNTIME_EXTENSIONS) {
      const file = path.join(dir, 'components', name, `index${ext}`);
      // A profile names only components that exist: a missing one would silently measure less.
      if (ext === '.js' && !all.has(file)) throw new Error(`size profile ${profile}: no component ${name}`);
      queue.push(file);
    }
  const add = (file: string) => {
    for (const candidate of [file, `${file}.js`, path.join(file, 'index.js')])
      if (all.has(candidate)) return void queue.push(candidate);
  };
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (reached.has(file) || !all.has(file)) continue;
    reached.add(file);
    const text = fs.readFileSync(file, 'utf8');
    if (file.endsWith('.js'))
      for (const [, spec] of text.matchAll(/require\(["'](\.{1,2}\/[^"']+)["']\)/g))
        add(path.resolve(path.dirname(file), spec));
    if (file.endsWith('.wxss'))
      for (const [, spec] of text.matchAll(/@import\s+["']([^"']+)["']/g))
        add(path.resolve(path.dirname(file), spec));
    if (file.endsWith('.json')) {
      const using = (JSON.parse(text) as { usingComponents?: Record<string, string> }).usingComponents ?? {};
      for (const spec of Object.values(using))
        if (spec.startsWith('.'))
          for (const ext of RUNTIME_EXTENSIONS) add(path.resolve(path.dirname(file), `${spec}${ext}`));
    }
  }
  return reached;
}

/** Splits `text` into quoted strings (kept as they are) and the code between them (handed to `code`). */
function outsideStrings(text: string, code: (part: string) => string): string {
  return text
    .split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/)
    .map((part, index) => (index % 2 === 1 ? part : code(part)))
    .join('');
}

/** WXSS without comments and layout whitespace; strings (data URIs) untouched. */
export function minifyWxss(css: string): string {
  return outsideStrings(css.replace(/\/\*[\s\S]*?\*\//g, ''), (part) =>
    part
      .replace(/\s+/g, ' ')
      .replace(/\s*([{};:,>])\s*/g, '$1')
      .replace(/;}/g, '}'),
  ).trim();
}

/** WXML without comments and the whitespace between tags; text and attribute values untouched. */
export function minifyWxml(wxml: string): string {
  return wxml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/>\s+</g, '><')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

async function measureFile(file: string, label: string): Promise<FileSize> {
  const source = fs.readFileSync(file);
  let shipped = source;
  if (file.endsWith('.wxss')) shipped = Buffer.from(minifyWxss(source.toString('utf8')), 'utf8');
  if (file.endsWith('.wxml')) shipped = Buffer.from(minifyWxml(source.toString('utf8')), 'utf8');
  if (file.endsWith('.js')) {
    // Module scope is a function scope in the mini-program runtime (CommonJS), so top-level names may be
    // mangled too; two compress passes are what any production minifier setting would use.
    const result = await minify(source.toString('utf8'), {
      ecma: 2017,
      compress: { passes: 2 },
      mangle: { toplevel: true },
      module: false,
    });
    const minified = Buffer.from(result.code ?? '', 'utf8');
    if (result.code !== undefined && minified.length < source.length) shipped = minified;
  }
  return {
    file: label,
    raw: source.length,
    minified: shipped.length,
    gzip: zlib.gzipSync(shipped, { level: 9 }).length,
  };
}

function totals(files: FileSize[]): Totals {
  return files.reduce(
    (sum, file) => ({
      files: sum.files + 1,
      raw: sum.raw + file.raw,
      minified: sum.minified + file.minified,
      gzip: sum.gzip + file.gzip,
    }),
    { files: 0, raw: 0, minified: 0, gzip: 0 },
  );
}

/** Sizes of a built package folder plus the runtime deps; gzip is summed per file (files ship separately). */
export async function measurePackage(distDir: string, profile: Profile = 'p2p'): Promise<SizeReport> {
  const reached = reachableFiles(distDir, profile);
  const label = (file: string) =>
    `miniprogram_dist/${path.relative(distDir, file).split(path.sep).join('/')}`;
  const built = listRuntimeFiles(distDir);
  const kitFiles = await Promise.all(
    built.filter((f) => reached.has(f)).map((f) => measureFile(f, label(f))),
  );
  const optional = await Promise.all(
    built.filter((f) => !reached.has(f)).map((f) => measureFile(f, label(f))),
  );
  const resolve = createRequire(path.join(REPO_ROOT, 'package.json')).resolve;
  const depFiles = await Promise.all(
    RUNTIME_DEPENDENCY_FILES.map((spec) => measureFile(resolve(spec), `node_modules/${spec}`)),
  );
  const files = [...kitFiles, ...depFiles];
  return { files, optional, kit: totals(kitFiles), dependencies: totals(depFiles), total: totals(files) };
}

/** Builds into a temporary folder, measures each profile, and removes the folder. */
export async function measureShippedSize(): Promise<Record<Profile, SizeReport>> {
  const distDir = await buildPackage();
  try {
    return {
      p2p: await measurePackage(distDir, 'p2p'),
      rooms: await measurePackage(distDir, 'rooms'),
      live: await measurePackage(distDir, 'live'),
    };
  } finally {
    fs.rmSync(path.dirname(distDir), { recursive: true, force: true });
  }
}
