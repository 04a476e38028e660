/** @jest-environment node */
/**
 * The kit as an app gets it: `npm pack` (which runs `prepare`, i.e. `gulp dist`, as a git install does), the
 * tarball installed into a fresh host mini-program (test/package/host.ts), WeChat's own "build npm"
 * (miniprogram-ci `packNpmManually`, offline), then what DevTools would check on open: WeChat's wcc/wcsc on the
 * host's and the kit's WXML/WXSS, every `require` and `usingComponents` resolving inside the app, CommonJS
 * only (build/check.ts, as the DevTools test uses it for the demo); and the host's pages in strict TypeScript
 * (the TS template's options and default lib) against the shipped `.d.ts`, through `node10`, `node16` and
 * `bundler` resolution, the NetEase adapter's and the group entry's subpaths included.
 *
 * The host installs with `--prefer-offline`: from npm's cache when this machine installed the repo, else from
 * the npm registry (CI has it). Nothing else is fetched.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import ts from 'typescript';
import {
  checkComponents,
  checkModuleSyntax,
  checkPages,
  checkProjectConfig,
  checkRequires,
  checkWxml,
  checkWxss,
  formatProblems,
  type Problem,
} from '../../build/check';
import { HOST_PAGES, TEMPLATE_OPTIONS, writeHost } from './host';
import { runWechat, sanitizedEnv } from './wechat';

const REPO = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};
const installedVersion = (name: string) =>
  (
    JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

let tmp: string;
let tarball: string;
let tarFiles: string[];
let host: string;
let app: string;
let packResult: { miniProgramPackNum: number; otherNpmPackNum: number; warnList: unknown[] };

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, env: sanitizedEnv(), encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}\n${result.stdout}`,
    );
  return result.stdout;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netcall-pack-'));
  const packed = JSON.parse(run('npm', ['pack', '--pack-destination', tmp, '--json'], REPO)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = path.join(tmp, packed[0].filename);
  tarFiles = packed[0].files.map((file) => file.path);

  host = path.join(tmp, 'host');
  app = path.join(host, 'miniprogram');
  fs.mkdirSync(host);
  writeHost(host, {
    kit: `file:${tarball}`,
    mobx: manifest.dependencies['mobx-miniprogram'],
    typings: installedVersion('miniprogram-api-typings'),
  });
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], host);
  packResult = runWechat({
    task: 'packNpm',
    packageJsonPath: path.join(host, 'package.json'),
    miniprogramNpmDistDir: app,
  }) as typeof packResult;
}, 150_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('carries the built package, its licence and nothing else', () => {
    expect(tarFiles).toEqual(expect.arrayContaining(['LICENSE', 'package.json', 'README.md']));
    for (const file of [
      'index.js',
      'index.d.ts',
      'components/call-screen/index.wxml',
      'typings/nim-netcall.d.ts',
    ])
      expect(tarFiles).toContain(`miniprogram_dist/${file}`);
    const outside = tarFiles.filter(
      (file) =>
        !file.startsWith('miniprogram_dist/') && !['LICENSE', 'package.json', 'README.md'].includes(file),
    );
    // No root typings/ (miniprogram_dist/typings/ is the one the declarations import), no sources or tests.
    expect(outside).toEqual([]);
    expect(tarFiles.filter((file) => /\.test\.|\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('declares the typings as an optional peer and maps the subpaths for TypeScript', () => {
    const shipped = JSON.parse(
      fs.readFileSync(path.join(host, 'node_modules', manifest.name, 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(shipped.miniprogram).toBe('miniprogram_dist');
    expect(shipped.peerDependencies).toHaveProperty('miniprogram-api-typings');
    expect(shipped.peerDependenciesMeta).toEqual({ 'miniprogram-api-typings': { optional: true } });
    // `exports` would change what Node and bundlers may load; WeChat's "build npm" reads `miniprogram`.
    expect(shipped.exports).toBeUndefined();
  });
});

describe('WeChat\'s "build npm" (packNpmManually) in the host', () => {
  it('builds the kit as a mini-program package and mobx-miniprogram from its main', () => {
    expect(packResult.miniProgramPackNum).toBe(1);
    expect(packResult.otherNpmPackNum).toBe(1);
    expect(packResult.warnList).toEqual([]);
    const kit = path.join(app, 'miniprogram_npm', manifest.name);
    for (const file of ['index.js', 'components/room-screen/index.json', 'services/netcall/nim-netcall.js'])
      expect(fs.existsSync(path.join(kit, file))).toBe(true);
    expect(fs.existsSync(path.join(app, 'miniprogram_npm/mobx-miniprogram/index.js'))).toBe(true);
    // devDependencies are not built.
    expect(fs.existsSync(path.join(app, 'miniprogram_npm/miniprogram-api-typings'))).toBe(false);
  });
});

/** The host's TypeScript program under one resolution; `emit` writes each page's .js beside its .ts. */
function compileHost(resolution: 'node10' | 'node16' | 'bundler', emit = false) {
  const parsed = ts.parseJsonConfigFileContent(
    {
      compilerOptions: {
        ...TEMPLATE_OPTIONS,
        moduleResolution: resolution,
        module: { node10: 'CommonJS', node16: 'Node16', bundler: 'Preserve' }[resolution],
      },
      include: ['./**/*.ts'],
      exclude: ['node_modules', 'miniprogram/miniprogram_npm'],
    },
    ts.sys,
    host,
  );
  expect(parsed.errors).toEqual([]);
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: { ...parsed.options, noEmit: !emit },
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  if (emit && diagnostics.length === 0) diagnostics.push(...program.emit().diagnostics);
  return { program, options: parsed.options, diagnostics };
}

const format = (diagnostics: readonly ts.Diagnostic[]) =>
  ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => host,
    getNewLine: () => '\n',
  });

describe.each(['node10', 'node16', 'bundler'] as const)(
  'the host in strict TypeScript, %s resolution',
  (resolution) => {
    let compiled: ReturnType<typeof compileHost>;
    beforeAll(() => {
      compiled = compileHost(resolution);
    });

    it('type-checks against the shipped declarations, and refuses what the types forbid', () => {
      expect(compiled.program.getRootFileNames().map((f) => path.relative(host, f))).toEqual(
        expect.arrayContaining([
          'type-checks.ts',
          'miniprogram/engines.ts',
          'miniprogram/pages/call/index.ts',
        ]),
      );
      // An unused @ts-expect-error in type-checks.ts is an error too, so a type that lets too much through fails.
      expect(format(compiled.diagnostics)).toBe('');
    });

    it.each([
      [manifest.name, 'miniprogram_dist/index.d.ts'],
      [`${manifest.name}/services/netcall/nim-netcall`, 'miniprogram_dist/services/netcall/nim-netcall.d.ts'],
      [`${manifest.name}/services/call/group-session`, 'miniprogram_dist/services/call/group-session.d.ts'],
      [`${manifest.name}/services/stores/group-store`, 'miniprogram_dist/services/stores/group-store.d.ts'],
      // The SDK's instance type, for apps that type what they pass to NimNetcall.
      [`${manifest.name}/typings/nim-netcall`, 'miniprogram_dist/typings/nim-netcall.d.ts'],
    ])('resolves %s to the package’s %s', (spec, file) => {
      const { resolvedModule } = ts.resolveModuleName(
        spec,
        path.join(app, 'engines.ts'),
        compiled.options,
        ts.sys,
      );
      expect(
        resolvedModule &&
          path.relative(path.join(host, 'node_modules', manifest.name), resolvedModule.resolvedFileName),
      ).toBe(file);
    });
  },
);

describe('the built host, as DevTools opens it', () => {
  beforeAll(() => {
    const { diagnostics } = compileHost('node10', true);
    if (diagnostics.length > 0) throw new Error(format(diagnostics));
  });

  const expectNone = (problems: Problem[]) => {
    if (problems.length > 0) throw new Error(`\n${formatProblems(problems)}`);
  };

  it('has every page, and project.config.json opens miniprogram/', () => {
    for (const page of HOST_PAGES) expect(fs.existsSync(path.join(app, `${page}.js`))).toBe(true);
    expectNone(checkPages(app));
    expectNone(checkProjectConfig(host, app));
  });

  it('resolves every require (the NetEase adapter and the group entry included) inside the app', () => {
    const engines = fs.readFileSync(path.join(app, 'engines.js'), 'utf8');
    expect(engines).toContain(`require("${manifest.name}/services/netcall/nim-netcall")`);
    // WeChat bundles a package without a \`miniprogram\` field (mobx-miniprogram) into one index.js whose
    // loader falls back to \`require(source)\` for modules outside the bundle: WeChat's code, not the kit's.
    const bundles = [path.join(app, 'miniprogram_npm', 'mobx-miniprogram', 'index.js')];
    const wechatLoader = (problem: Problem) =>
      bundles.some((file) => problem.file.startsWith(`${path.relative(app, file)}:`)) &&
      problem.message.includes('non-literal');
    expectNone(checkRequires(app).filter((problem) => !wechatLoader(problem)));
    expectNone(checkModuleSyntax(app));
  });

  it('resolves every usingComponents, the kit’s own included', () => {
    expectNone(checkComponents(app));
  });

  it("compiles with WeChat's wcc and wcsc", () => {
    expectNone(checkWxml(app));
    expectNone(checkWxss(app));
  });

  it("passes WeChat's static dependency analysis: every page, component and require found", () => {
    const analysis = runWechat({ task: 'analyse', projectPath: host }) as {
      modules: Array<{ id: string; errors?: unknown[]; deps: Array<{ request: string; error?: unknown }> }>;
    };
    expect(analysis.modules.map((module) => module.id)).toEqual(
      expect.arrayContaining([
        'Page:pages/room/index.json',
        `Component:miniprogram_npm/${manifest.name}/components/room-screen/index.json`,
        `Js:miniprogram_npm/${manifest.name}/services/call/group-session.js`,
      ]),
    );
    const broken = analysis.modules.flatMap((module) => [
      ...(module.errors ?? []).map((error) => `${module.id}: ${JSON.stringify(error)}`),
      ...module.deps
        .filter((dep) => dep.error)
        .map((dep) => `${module.id} → ${dep.request}: ${JSON.stringify(dep.error)}`),
    ]);
    expect(broken).toEqual([]);
  }, 60_000);
});
