/**
 * Throwaway trees for the devtools test, written to a temporary folder at test time: kept as data here
 * because broken WXSS/JS on disk would trip the repository's own lint and format checks.
 */
import fs from 'fs';
import path from 'path';

type Tree = Record<string, string | Buffer>;

function writeTree(root: string, tree: Tree): void {
  for (const [file, content] of Object.entries(tree)) {
    const full = path.join(root, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** A 1×1 PNG: proves images are copied byte for byte (gulp 5 would re-encode them as UTF-8 by default). */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * The smallest source tree with the repository's shape: a kit (services + one store-bound component) and a
 * demo app that imports the kit by package name. It shares the repository's node_modules through a symlink.
 */
export function writeSourceProject(root: string, repoRoot: string): void {
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  writeTree(root, {
    'project.config.json': json({
      miniprogramRoot: 'dist/',
      compileType: 'miniprogram',
      appid: 'touristappid',
    }),
    'package.json': json({
      name: 'fixture',
      private: true,
      dependencies: { 'mobx-miniprogram': '*', 'mobx-miniprogram-bindings': '*' },
    }),
    'tsconfig.src.json': json({
      compilerOptions: {
        target: 'ES2017',
        module: 'CommonJS',
        lib: ['ES2017'],
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['miniprogram-api-typings'],
        paths: { 'miniprogram-netcall': ['./services/index.ts'] },
      },
      include: ['services', 'components', 'miniprogram'],
      exclude: ['**/*.test.ts'],
    }),
    'services/index.ts': [
      "import { observable } from 'mobx-miniprogram';",
      'export const counter = observable({ count: 0 });',
      'export const greet = (name: string): string => `hello ${name}`;',
      '',
    ].join('\n'),
    'services/index.test.ts': "throw new Error('tests must not be compiled into dist');\n",
    'components/demo-card/index.ts': [
      "import { ComponentWithStore } from 'mobx-miniprogram-bindings';",
      "import { counter } from '../../services/index';",
      'ComponentWithStore({',
      '  properties: { title: String },',
      "  storeBindings: { store: counter, fields: ['count'], actions: [] },",
      '});',
      '',
    ].join('\n'),
    'components/demo-card/index.json': json({ component: true, usingComponents: {} }),
    'components/demo-card/index.wxml': '<view class="card">{{title}}: {{count}}</view>\n',
    'components/demo-card/index.wxss': '.card { padding: 16rpx; }\n',
    'components/README.md': 'not shipped\n',
    'miniprogram/app.ts': 'App({});\n',
    'miniprogram/app.json': json({ pages: ['pages/home/index'], sitemapLocation: 'sitemap.json' }),
    'miniprogram/app.wxss': 'page { background: #fff; }\n',
    'miniprogram/sitemap.json': json({ rules: [{ action: 'allow', page: '*' }] }),
    'miniprogram/images/logo.png': PNG,
    'miniprogram/pages/home/index.ts': [
      "import { greet } from 'miniprogram-netcall';",
      "Page({ data: { text: greet('fixture') } });",
      '',
    ].join('\n'),
    'miniprogram/pages/home/index.json': json({
      usingComponents: { 'demo-card': 'miniprogram-netcall/components/demo-card/index' },
    }),
    'miniprogram/pages/home/index.wxml': '<demo-card title="{{text}}" />\n<image src="/images/logo.png" />\n',
    'miniprogram/pages/home/index.wxss': '.home { color: #333; }\n',
  });
}

/** A built folder with one of each mistake the checkers exist to catch, next to correct uses of each rule. */
export function writeBrokenOutput(root: string): void {
  const component = (extra: Tree, base: string): Tree => ({
    [`${base}.js`]: 'Component({});\n',
    [`${base}.wxml`]: '<view>ok</view>\n',
    ...extra,
  });
  writeTree(root, {
    'app.js': "require('./lib/util');\nrequire('./lib/folder');\nApp({});\n",
    'lib/folder/index.js': 'module.exports = {};\n',
    'app.json': json({ pages: ['pages/home/index', 'pages/gone/index'] }),
    'lib/util.js': 'module.exports = {};\n',
    // One of each ES module form WeChat's CommonJS runtime rejects, a line each (the test expects these lines).
    'lib/esm.js': [
      "import util from './util';",
      "import './util.js';",
      'export const answer = 42;',
      'export default function main() {}',
      'export { answer as reply };',
      "export * from './util';",
      "const lazy = () => import('./util');",
      'const where = import.meta.url;',
      '',
    ].join('\n'),
    // The same words where they are not module syntax: none of these may be reported.
    'lib/cjs.js': [
      "// import util from './util'; export const a = 1;",
      '/* export default {} */',
      "const s = \"import a from 'b'; export * from 'c'\";",
      'const t = `export const c = ${s}`;',
      'const o = { import: 1, export: 2 };',
      'const re = /^import x from/;',
      'exports.imported = o.import + o.export;',
      'module.exports = { s, t, re };',
      '',
    ].join('\n'),
    'miniprogram_npm/mobx-miniprogram/index.js': 'module.exports = {};\n',
    'pages/home/index.js': [
      "require('./nope');",
      "require('events');",
      "require('absent-pkg');",
      "require('mobx-miniprogram');",
      "require('../../../outside');",
      "const name = 'lib'; require(name);",
      "require('/lib/util');",
      "require('../../lib/util.js');",
      "// require('only-in-a-comment');",
      'const s = "require(\'only-in-a-string\')";',
      'Page({ data: { s } });',
      '',
    ].join('\n'),
    'pages/home/index.json': json({
      usingComponents: {
        good: '/comps/good/index',
        rel: '../../comps/good/index',
        missing: '../../comps/none/index',
        plain: '/comps/plain/index',
        npm: 'absent-pkg/x',
        npmok: 'kit/card',
        plugin: 'plugin://some-plugin/thing',
      },
    }),
    'pages/home/index.wxml': '<import src="./missing.wxml"/>\n<good/>\n<view></text>\n',
    'pages/home/index.wxss': '.a { color: red\n',
    ...component(
      { 'comps/good/index.json': json({ component: true }), 'comps/good/index.wxss': '.x{}\n' },
      'comps/good/index',
    ),
    ...component({ 'comps/plain/index.json': json({}) }, 'comps/plain/index'),
    ...component({ 'miniprogram_npm/kit/card.json': json({ component: true }) }, 'miniprogram_npm/kit/card'),
  });
}

/** The expected `moduleSyntax` finding for each line of `lib/esm.js` in the broken output, in order. */
export const ESM_LINES: [line: number, what: string][] = [
  [1, '`import` declaration'],
  [2, '`import` declaration'],
  [3, '`export` declaration'],
  [4, '`export` declaration'],
  [5, '`export … from` / `export { … }`'],
  [6, '`export … from` / `export { … }`'],
  [7, '`import()`'],
  [8, '`import.meta`'],
];

/**
 * Project folders, one per project.config.json mistake, each with a built `dist/` where it matters, plus a
 * correct one as the control. Keys are folder names under `root`.
 */
export function writeProjectConfigs(root: string): void {
  const app = json({ pages: ['pages/home/index'] });
  writeTree(root, {
    'good/project.config.json': json({ miniprogramRoot: 'dist/', compileType: 'miniprogram' }),
    'good/dist/app.json': app,
    'absent/dist/app.json': app,
    'invalid/project.config.json': '{ "miniprogramRoot": "dist/",\n',
    'unset/project.config.json': json({ compileType: 'miniprogram' }),
    'unset/dist/app.json': app,
    'sources/project.config.json': json({ miniprogramRoot: 'miniprogram/' }),
    'sources/miniprogram/app.json': app,
    'sources/dist/app.json': app,
    'unbuilt/project.config.json': json({ miniprogramRoot: './dist' }),
    'unbuilt/dist/pages/home/index.js': 'Page({});\n',
  });
}
