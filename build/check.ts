/**
 * Static checks of a built mini-program folder, standing in for what WeChat DevTools would report on open:
 * WXML/WXSS through WeChat's own compilers, `require` and `usingComponents` resolution, CommonJS-only JS,
 * pages in app.json, and the project.config.json that tells DevTools which folder to open.
 * Each checker returns the problems it found rather than throwing, so a test can list every offender.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import { createRequire, isBuiltin } from 'module';
import os from 'os';
import path from 'path';
import ts from 'typescript';

export interface Problem {
  file: string;
  message: string;
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `  ${p.file}: ${p.message}`).join('\n');
}

export function listFiles(root: string, ext?: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!ext || entry.name.endsWith(ext)) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

const isFile = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;

const inside = (root: string, file: string) => {
  const r = path.relative(root, file);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
};

function readJson(file: string): { value?: Record<string, unknown>; error?: string } {
  try {
    return { value: JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> };
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Module resolution, as the mini-program runtime does it

function splitPackage(spec: string): { pkg: string; sub: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  return { pkg: parts.slice(0, n).join('/'), sub: parts.slice(n).join('/') };
}

/** `miniprogram_npm/<pkg>` in the nearest ancestor of `fromDir` (up to `root`) that has one. */
function findNpmPackage(root: string, fromDir: string, pkg: string): string | null {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'miniprogram_npm', pkg);
    if (fs.existsSync(candidate)) return candidate;
    if (dir === root || !inside(root, dir)) return null;
  }
}

export interface RequireOptions {
  /** Accept `require('./dir')` loading dir/index.js. Our build never emits one; third-party code may. */
  folderIndex?: boolean;
}

/** The file a `require(spec)` in `file` loads, or why there is none. */
export function resolveRequire(
  root: string,
  file: string,
  spec: string,
  { folderIndex = true }: RequireOptions = {},
): { path?: string; error?: string } {
  if (isBuiltin(spec))
    return { error: `requires Node built-in "${spec}", which a mini-program does not have` };
  let base: string;
  if (spec.startsWith('./') || spec.startsWith('../')) {
    base = path.resolve(path.dirname(file), spec);
  } else if (spec.startsWith('/')) {
    // Root-absolute requires need app.json `resolveAlias`; relative paths work everywhere.
    return { error: `require("${spec}"): root-absolute paths are not supported, use a relative path` };
  } else {
    const { pkg, sub } = splitPackage(spec);
    const pkgDir = findNpmPackage(root, path.dirname(file), pkg);
    if (!pkgDir) return { error: `require("${spec}"): no miniprogram_npm/${pkg} in any ancestor folder` };
    base = sub ? path.join(pkgDir, sub) : path.join(pkgDir, 'index');
  }
  const candidates = [base, `${base}.js`];
  if (folderIndex || !spec.startsWith('.')) candidates.push(path.join(base, 'index.js'));
  const found = candidates.find((c) => c.endsWith('.js') && isFile(c));
  if (!found)
    return {
      error: `require("${spec}") does not resolve (tried ${candidates.map((c) => rel(root, c)).join(', ')})`,
    };
  if (!inside(root, found)) return { error: `require("${spec}") resolves outside the mini-program root` };
  return { path: found };
}

/** A .js file as TypeScript's parser sees it: strings, comments and templates are tokens, not code. */
function parseJs(file: string): ts.SourceFile {
  return ts.createSourceFile(
    file,
    fs.readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.JS,
  );
}

/** Every `require(...)` in every .js under `root` resolves inside `root`, and none loads a Node built-in. */
export function checkRequires(root: string, options: RequireOptions = {}): Problem[] {
  const problems: Problem[] = [];
  for (const file of listFiles(root, '.js')) {
    const source = parseJs(file);
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'require'
      ) {
        const [arg] = node.arguments;
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        const where = `${rel(root, file)}:${line + 1}`;
        if (!arg || !ts.isStringLiteralLike(arg)) {
          problems.push({
            file: where,
            message: 'require() with a non-literal argument cannot be checked or packed',
          });
        } else {
          const { error } = resolveRequire(root, file, arg.text, options);
          if (error) problems.push({ file: where, message: error });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Module format: WeChat's runtime loads every .js through its own CommonJS `require`

/** What ES module syntax `node` is, or null. Only syntax nodes count, never text in strings or comments. */
function moduleSyntax(node: ts.Node): string | null {
  if (ts.isImportDeclaration(node) || ts.isImportEqualsDeclaration(node)) return '`import` declaration';
  if (ts.isExportDeclaration(node)) return '`export … from` / `export { … }`';
  if (ts.isExportAssignment(node)) return '`export default`';
  if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword))
    return '`export` declaration';
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) return '`import()`';
  if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) return '`import.meta`';
  return null;
}

/**
 * Every .js under `root` is CommonJS. An `import`/`export` left in built output (a dependency's ESM build
 * copied in, a compiler set to ES modules) loads in Node tests, and DevTools converts it while "compile JS to
 * ES5" is on; but not in files a project excludes from compiling (WeChat's DevTools "code compile" page gives
 * `miniprogram_npm` as the example), nor in an app that turns the option off: there WeChat's runtime fails
 * with a SyntaxError. Checked on TypeScript's parse of each file, so the words inside
 * strings, comments, templates, regular expressions or as property names (`module.exports`) never count.
 */
export function checkModuleSyntax(root: string): Problem[] {
  const problems: Problem[] = [];
  for (const file of listFiles(root, '.js')) {
    const source = parseJs(file);
    const visit = (node: ts.Node): void => {
      const found = moduleSyntax(node);
      if (found) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        problems.push({
          file: `${rel(root, file)}:${line + 1}`,
          message: `${found}: ES module syntax, but WeChat's runtime loads .js as CommonJS`,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Components and pages

/** The component a `usingComponents` entry in `jsonFile` names (path without extension), or why there is none. */
export function resolveComponent(
  root: string,
  jsonFile: string,
  spec: string,
): { path?: string; error?: string } {
  let base: string;
  if (spec.startsWith('./') || spec.startsWith('../')) {
    base = path.resolve(path.dirname(jsonFile), spec);
  } else if (spec.startsWith('/')) {
    base = path.join(root, spec);
  } else {
    const { pkg, sub } = splitPackage(spec);
    const pkgDir = findNpmPackage(root, path.dirname(jsonFile), pkg);
    if (!pkgDir) return { error: `"${spec}": no miniprogram_npm/${pkg} in any ancestor folder` };
    base = path.join(pkgDir, sub || 'index');
  }
  if (!inside(root, base)) return { error: `"${spec}" points outside the mini-program root` };
  const missing = ['.js', '.json', '.wxml'].filter((ext) => !isFile(base + ext));
  if (missing.length > 0) return { error: `"${spec}" → ${rel(root, base)} lacks ${missing.join(', ')}` };
  const json = readJson(`${base}.json`);
  if (json.error) return { error: `"${spec}" → ${rel(root, base)}.json: ${json.error}` };
  if (json.value?.component !== true)
    return { error: `"${spec}" → ${rel(root, base)}.json lacks "component": true` };
  return { path: base };
}

function usingComponents(json: Record<string, unknown>): Record<string, string> {
  const using = json.usingComponents;
  return using && typeof using === 'object' ? (using as Record<string, string>) : {};
}

/** Every .json parses, and every `usingComponents` entry resolves to a complete component inside `root`. */
export function checkComponents(root: string): Problem[] {
  const problems: Problem[] = [];
  for (const file of listFiles(root, '.json')) {
    const json = readJson(file);
    if (json.error || !json.value) {
      problems.push({ file: rel(root, file), message: json.error ?? 'empty' });
      continue;
    }
    for (const [tag, spec] of Object.entries(usingComponents(json.value))) {
      // Plugin components live in WeChat's plugin store, not in the package.
      if (typeof spec === 'string' && spec.startsWith('plugin://')) continue;
      if (typeof spec !== 'string') {
        problems.push({ file: rel(root, file), message: `usingComponents["${tag}"] is not a string` });
        continue;
      }
      const { error } = resolveComponent(root, file, spec);
      if (error) problems.push({ file: rel(root, file), message: `usingComponents["${tag}"] ${error}` });
    }
  }
  return problems;
}

/** app.js/app.json exist and every page in app.json (and in its subpackages) has .js, .wxml and .json. */
export function checkPages(root: string): Problem[] {
  const problems: Problem[] = [];
  const appJson = path.join(root, 'app.json');
  if (!isFile(path.join(root, 'app.js'))) problems.push({ file: 'app.js', message: 'missing' });
  if (!isFile(appJson)) return [...problems, { file: 'app.json', message: 'missing' }];
  const app = readJson(appJson);
  if (!app.value) return [...problems, { file: 'app.json', message: app.error ?? 'empty' }];

  const pages: string[] = [];
  const list = (value: unknown, prefix: string) => {
    if (Array.isArray(value)) for (const p of value) pages.push(path.posix.join(prefix, String(p)));
  };
  list(app.value.pages, '');
  if (pages.length === 0) problems.push({ file: 'app.json', message: '"pages" is empty or missing' });
  const subpackages = app.value.subpackages ?? app.value.subPackages;
  if (Array.isArray(subpackages)) {
    for (const sub of subpackages as { root?: string; pages?: unknown }[]) list(sub.pages, sub.root ?? '');
  }
  for (const page of pages) {
    const missing = ['.js', '.wxml', '.json'].filter((ext) => !isFile(path.join(root, page + ext)));
    if (missing.length > 0)
      problems.push({ file: 'app.json', message: `page "${page}" lacks ${missing.join(', ')}` });
  }
  const sitemap = app.value.sitemapLocation;
  if (typeof sitemap === 'string' && !isFile(path.join(root, sitemap))) {
    problems.push({ file: 'app.json', message: `sitemapLocation "${sitemap}" does not exist` });
  }
  return problems;
}

/**
 * project.config.json is what DevTools opens: its `miniprogramRoot` must name `appDir`, the folder the build
 * writes the app to (resolved against `projectDir`), and that folder must hold app.json once built.
 * `builtDir` is that folder as built, when a test builds it elsewhere (a temporary copy). Without the key
 * DevTools opens the project folder itself; pointed at the sources (`miniprogram/`) it finds no .js at all.
 */
export function checkProjectConfig(projectDir: string, appDir: string, builtDir = appDir): Problem[] {
  const file = 'project.config.json';
  const full = path.join(projectDir, file);
  if (!isFile(full)) return [{ file, message: 'missing' }];
  const config = readJson(full);
  if (!config.value) return [{ file, message: config.error ?? 'empty' }];
  const root = config.value.miniprogramRoot;
  if (typeof root !== 'string' || root.trim() === '')
    return [{ file, message: '"miniprogramRoot" is missing: DevTools would open the project folder itself' }];
  const problems: Problem[] = [];
  const resolved = path.resolve(projectDir, root);
  if (path.relative(resolved, appDir) !== '')
    problems.push({
      file,
      message: `"miniprogramRoot" is "${root}", but the build writes the app to ${rel(projectDir, appDir)}/`,
    });
  else if (!isFile(path.join(builtDir, 'app.json')))
    problems.push({ file, message: `"miniprogramRoot" "${root}" has no app.json after the build` });
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// WeChat's compilers (npm miniprogram-compiler ships the wcc/wcsc binaries)

/**
 * Path of an executable wcc/wcsc. The package ships them mode 0644 and chmods at run time; when
 * node_modules is read-only that fails, so fall back to an executable copy in the temp folder.
 */
export function compilerBinary(name: 'wcc' | 'wcsc'): string {
  const platform = { linux: 'linux', darwin: 'mac', win32: 'windows' }[process.platform as string];
  if (!platform) throw new Error(`miniprogram-compiler has no ${name} for ${process.platform}`);
  if (platform === 'linux' && process.arch !== 'x64') {
    throw new Error(`miniprogram-compiler's ${name} is x86-64 only; this machine is ${process.arch}`);
  }
  const pkgDir = path.dirname(createRequire(__filename).resolve('miniprogram-compiler/package.json'));
  const binary = path.join(pkgDir, 'bin', platform, process.platform === 'win32' ? `${name}.exe` : name);
  if (process.platform === 'win32') return binary;
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return binary;
  } catch {
    try {
      fs.chmodSync(binary, 0o755);
      return binary;
    } catch {
      const copy = path.join(os.tmpdir(), `miniprogram-compiler-${process.getuid?.() ?? 0}-${name}`);
      fs.copyFileSync(binary, copy);
      fs.chmodSync(copy, 0o755);
      return copy;
    }
  }
}

function run(binary: string, args: string[], cwd: string): { ok: boolean; message: string } {
  const result = spawnSync(binary, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { ok: result.status === 0, message: `${result.stderr.toString().trim()} (exit ${result.status})` };
}

/** Tag names a WXML file may use as custom components: its own usingComponents plus app.json's global ones. */
function componentTags(root: string, wxml: string): string[] {
  const own = readJson(wxml.replace(/\.wxml$/, '.json')).value;
  const app = readJson(path.join(root, 'app.json')).value;
  return [
    ...new Set([
      ...Object.keys(own ? usingComponents(own) : {}),
      ...Object.keys(app ? usingComponents(app) : {}),
    ]),
  ];
}

/** wcc's `-cc` argument: "<count> <file.wxml> <n> <tag>... ", the way DevTools passes custom components. */
function componentArgs(root: string, files: string[]): string {
  const entries = files
    .map((f) => ({ f, tags: componentTags(root, path.join(root, f)) }))
    .filter((e) => e.tags.length > 0);
  return [entries.length, ...entries.flatMap((e) => [e.f, e.tags.length, ...e.tags])].join(' ');
}

/** `<import>` and `<include>` with a missing target compile without complaint in wcc, so check them here. */
function checkTemplateRefs(root: string, file: string): Problem[] {
  const problems: Problem[] = [];
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/<(import|include)\b[^>]*?\bsrc\s*=\s*["']([^"'{}]+)["']/g)) {
    const src = m[2];
    const target = src.startsWith('/') ? path.join(root, src) : path.resolve(path.dirname(file), src);
    if (!isFile(target) && !isFile(`${target}.wxml`)) {
      problems.push({ file: rel(root, file), message: `<${m[1]} src="${src}"> does not exist` });
    }
  }
  return problems;
}

/**
 * Compiles each WXML under `root` with wcc, one file at a time so every broken file is named, then all
 * together (with .wxs) the way DevTools does. miniprogram-compiler's own wxmlToJs is not used: it resolves
 * npm and root-absolute usingComponents paths as relative ones.
 */
export function checkWxml(root: string): Problem[] {
  const wcc = compilerBinary('wcc');
  const files = listFiles(root, '.wxml').map((f) => rel(root, f));
  const problems: Problem[] = files.flatMap((f) => checkTemplateRefs(root, path.join(root, f)));
  for (const f of files) {
    const { ok, message } = run(wcc, ['-d', '-cc', componentArgs(root, [f]), f, '-gn', '$gwx'], root);
    if (!ok) problems.push({ file: f, message: `wcc: ${message}` });
  }
  if (problems.length === 0 && files.length > 0) {
    const wxs = listFiles(root, '.wxs').map((f) => rel(root, f));
    const { ok, message } = run(
      wcc,
      ['-d', '-cc', componentArgs(root, files), ...files, ...wxs, '-gn', '$gwx'],
      root,
    );
    if (!ok) problems.push({ file: '(all wxml)', message: `wcc: ${message}` });
  }
  return problems;
}

/** Compiles each WXSS under `root` with wcsc; `@import` targets must exist. */
/** The files a WXSS `@import`s, directly or not, relative to `root` (wcsc must be given them with it). */
function wxssImports(root: string, file: string, seen = new Set<string>()): string[] {
  const css = fs.readFileSync(path.join(root, file), 'utf8');
  for (const [, spec] of css.matchAll(/@import\s+["']([^"']+)["']/g)) {
    const imported = rel(root, path.resolve(path.dirname(path.join(root, file)), spec));
    if (seen.has(imported) || !isFile(path.join(root, imported))) continue;
    seen.add(imported);
    wxssImports(root, imported, seen);
  }
  return [...seen];
}

export function checkWxss(root: string): Problem[] {
  const wcsc = compilerBinary('wcsc');
  const problems: Problem[] = [];
  for (const f of listFiles(root, '.wxss').map((file) => rel(root, file))) {
    // Styles of pages and components (those with a .json) are compiled as component styles, as DevTools does;
    // `-pc` counts the leading page/component files, the shared ones they import follow.
    const isComponent = isFile(path.join(root, f.replace(/\.wxss$/, '.json')));
    const args = ['-db', '-pc', isComponent ? '1' : '0', f, ...wxssImports(root, f)];
    const { ok, message } = run(wcsc, args, root);
    if (!ok) problems.push({ file: f, message: `wcsc: ${message}` });
  }
  return problems;
}
