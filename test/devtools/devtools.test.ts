/** @jest-environment node */
/**
 * Builds the mini-program the way `gulp build` does and checks what WeChat DevTools would choke on:
 * WXML/WXSS through WeChat's own compilers, every `require`, every `usingComponents`, every page, ES module
 * syntax left in the JS (WeChat's runtime is CommonJS), and the folder project.config.json opens.
 * Builds go to a temporary folder so a running `gulp watch` / open DevTools project is not disturbed.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import gulp, { type TaskFunction } from 'gulp';
import { type BuildConfig, createConfig, PACKAGE_NAME } from '../../build/config';
import { type Logger, createTasks } from '../../build/tasks';
import {
  type Problem,
  checkComponents,
  checkModuleSyntax,
  checkPages,
  checkProjectConfig,
  checkRequires,
  checkWxml,
  checkWxss,
  formatProblems,
  listFiles,
} from '../../build/check';
import { ESM_LINES, PNG, writeBrokenOutput, writeProjectConfigs, writeSourceProject } from './fixtures';

const repoRoot = path.resolve(__dirname, '../..');

// Outside the gulp CLI nobody listens for gulp's 'error' event, so a failing task would throw from an
// EventEmitter instead of reaching the callback below.
gulp.on('error', () => undefined);

const quiet: Logger = { info: () => undefined, error: () => undefined };

function runTask(task: TaskFunction): Promise<void> {
  return new Promise((resolve, reject) => {
    task((err?: unknown) => (err ? reject(err) : resolve()));
  });
}

function expectNone(what: string, problems: Problem[]): void {
  if (problems.length > 0) {
    throw new Error(`${problems.length} ${what}:\n${formatProblems(problems)}`);
  }
}

function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `netcall-${label}-`));
}

/** Runs every checker over an app output folder, the assertions the real tree and the fixture share. */
function describeAppChecks(getOutDir: () => string): void {
  it('compiles every WXML with wcc', () => expectNone('WXML problem(s)', checkWxml(getOutDir())));
  it('compiles every WXSS with wcsc', () => expectNone('WXSS problem(s)', checkWxss(getOutDir())));
  it('resolves every require() inside the folder, without Node built-ins', () =>
    expectNone('require problem(s)', checkRequires(getOutDir())));
  it('ships CommonJS only: no import/export left in any .js', () => {
    expect(listFiles(getOutDir(), '.js').length).toBeGreaterThan(0);
    expectNone('ES module problem(s)', checkModuleSyntax(getOutDir()));
  });
  it('resolves every usingComponents entry to a complete component', () =>
    expectNone('usingComponents problem(s)', checkComponents(getOutDir())));
  it('has every page listed in app.json', () => expectNone('page problem(s)', checkPages(getOutDir())));
  it('ships no TypeScript, source maps, tests or server code', () => {
    const out = getOutDir();
    const offenders = listFiles(out)
      .map((f) => path.relative(out, f).split(path.sep).join('/'))
      .filter((f) => /\.(ts|map)$|\.test\.js$|(^|\/)(server|test|node_modules)\//.test(f));
    expect(offenders).toEqual([]);
  });
}

describe('gulp build of this repository', () => {
  let config: BuildConfig;
  let tmp: string;

  beforeAll(async () => {
    tmp = tempDir('build');
    config = createConfig(repoRoot, {
      appOutDir: path.join(tmp, 'dist'),
      pkgOutDir: path.join(tmp, 'miniprogram_dist'),
    });
    const tasks = createTasks(config, quiet);
    await runTask(tasks.build);
    await runTask(tasks.dist);
  }, 120_000);
  afterAll(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  describeAppChecks(() => config.app.outDir);

  it('has project.config.json open the folder gulp build writes, and that folder has app.json', () => {
    // The test built into a temporary folder; it stands in for the one the repository's config names.
    const appDir = createConfig(repoRoot).app.outDir;
    expectNone('project.config.json problem(s)', checkProjectConfig(repoRoot, appDir, config.app.outDir));
  });

  it('never relies on the runtime resolving a relative require of a folder to its index.js', () =>
    expectNone('folder require(s)', checkRequires(config.app.outDir, { folderIndex: false })));

  it('places the kit and its runtime dependencies under miniprogram_npm/', () => {
    const npm = path.join(config.app.outDir, 'miniprogram_npm');
    expect(fs.readFileSync(path.join(npm, PACKAGE_NAME, 'index.js'), 'utf8')).toContain(
      "require('./services/index')",
    );
    expect(fs.existsSync(path.join(npm, 'mobx-miniprogram', 'index.js'))).toBe(true);
    // The kit drives mobx with reactions of its own; the bindings are the app's choice, not shipped by us.
    expect(fs.existsSync(path.join(npm, 'mobx-miniprogram-bindings'))).toBe(false);
  });

  it('gulp dist ships the kit with declarations and nothing of the demo', () => {
    const out = config.pkg.outDir;
    const files = listFiles(out).map((f) => path.relative(out, f).split(path.sep).join('/'));
    expect(files).toEqual(
      expect.arrayContaining(['index.js', 'index.d.ts', 'services/index.js', 'services/index.d.ts']),
    );
    expect(
      files.filter((f) => !/^(services|components)\/|^index\.(js|d\.ts)$|^typings\/[^/]+\.d\.ts$/.test(f)),
    ).toEqual([]);
    // Every declaration's relative import resolves inside the package (e.g. the NetEase SDK typings).
    for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
      const text = fs.readFileSync(path.join(out, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const target = path.join(out, path.dirname(file), spec);
        expect([`${target}.d.ts`, path.join(target, 'index.d.ts')].some((f) => fs.existsSync(f))).toBe(true);
      }
    }
    expect(files.filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual(
      [],
    );
  });

  it('gulp dist: relative requires resolve; bare ones are declared dependencies', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    // The consumer's "build npm" provides these, so they are not inside miniprogram_dist itself.
    const provided = Object.keys(manifest.dependencies ?? {});
    const problems = checkRequires(config.pkg.outDir).filter(
      (p) => !provided.some((dep) => p.message.includes(`no miniprogram_npm/${dep} `)),
    );
    expectNone('require problem(s) in miniprogram_dist', problems);
    expectNone('usingComponents problem(s) in miniprogram_dist', checkComponents(config.pkg.outDir));
    expectNone('ES module problem(s) in miniprogram_dist', checkModuleSyntax(config.pkg.outDir));
  });
});

describe('gulp build of a minimal source project', () => {
  let config: BuildConfig;
  let tmp: string;

  beforeAll(async () => {
    tmp = tempDir('fixture');
    writeSourceProject(tmp, repoRoot);
    config = createConfig(tmp);
    await runTask(createTasks(config, quiet).build);
  }, 120_000);
  afterAll(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  describeAppChecks(() => config.app.outDir);

  it('has project.config.json open the built folder', () =>
    expectNone('project.config.json problem(s)', checkProjectConfig(tmp, config.app.outDir)));

  it('keeps require("miniprogram-netcall") for DevTools to resolve through miniprogram_npm', () => {
    const page = fs.readFileSync(path.join(config.app.outDir, 'pages/home/index.js'), 'utf8');
    expect(page).toContain('require("miniprogram-netcall")');
  });

  it('copies images byte for byte and leaves tests and docs out', () => {
    expect(fs.readFileSync(path.join(config.app.outDir, 'images/logo.png')).equals(PNG)).toBe(true);
    const kit = path.join(config.app.outDir, 'miniprogram_npm', PACKAGE_NAME);
    expect(fs.existsSync(path.join(kit, 'services/index.test.js'))).toBe(false);
    expect(fs.existsSync(path.join(kit, 'components/README.md'))).toBe(false);
  });

  it('fails the build on a type error, with the compiler message', async () => {
    const file = path.join(tmp, 'services/index.ts');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${original}\nexport const broken: number = 'not a number';\n`);
    try {
      await expect(runTask(createTasks(config, quiet).build)).rejects.toThrow(/TS2322/);
    } finally {
      fs.writeFileSync(file, original);
    }
  }, 60_000);

  it('fails the build when shipped code imports a folder that is not shipped', async () => {
    const file = path.join(tmp, 'services/index.ts');
    const original = fs.readFileSync(file, 'utf8');
    fs.mkdirSync(path.join(tmp, 'server'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'server/secret.ts'), 'export const secret = 1;\n');
    fs.writeFileSync(file, `${original}\nexport { secret } from '../server/secret';\n`);
    try {
      await expect(runTask(createTasks(config, quiet).build)).rejects.toThrow(
        /does not ship[\s\S]*server\/secret\.ts/,
      );
    } finally {
      fs.writeFileSync(file, original);
    }
  }, 60_000);
});

describe('the checkers catch broken output', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir('broken');
    writeBrokenOutput(root);
  });
  afterAll(() => root && fs.rmSync(root, { recursive: true, force: true }));

  const messages = (problems: Problem[]) => problems.map((p) => `${p.file}: ${p.message}`);

  it('flags unresolvable requires, Node built-ins and dynamic requires, and nothing else', () => {
    const found = messages(checkRequires(root));
    expect(found).toEqual([
      expect.stringMatching(/^pages\/home\/index\.js:1: require\("\.\/nope"\) does not resolve/),
      expect.stringMatching(/^pages\/home\/index\.js:2: requires Node built-in "events"/),
      expect.stringMatching(
        /^pages\/home\/index\.js:3: require\("absent-pkg"\): no miniprogram_npm\/absent-pkg/,
      ),
      expect.stringMatching(/^pages\/home\/index\.js:5: require\("\.\.\/\.\.\/\.\.\/outside"\)/),
      expect.stringMatching(/^pages\/home\/index\.js:6: require\(\) with a non-literal argument/),
      expect.stringMatching(/^pages\/home\/index\.js:7: require\("\/lib\/util"\): root-absolute paths/),
    ]);
  });

  it('flags a relative require of a folder only when folder indexes are not allowed', () => {
    expect(
      messages(checkRequires(root, { folderIndex: false })).filter((m) => m.startsWith('app.js')),
    ).toEqual([expect.stringMatching(/^app\.js:2: require\("\.\/lib\/folder"\) does not resolve/)]);
  });

  it('flags usingComponents that are missing, incomplete or not components', () => {
    const found = messages(checkComponents(root));
    expect(found).toEqual([
      expect.stringMatching(
        /^pages\/home\/index\.json: usingComponents\["missing"\] .*lacks \.js, \.json, \.wxml/,
      ),
      expect.stringMatching(
        /^pages\/home\/index\.json: usingComponents\["plain"\] .*lacks "component": true/,
      ),
      expect.stringMatching(
        /^pages\/home\/index\.json: usingComponents\["npm"\] "absent-pkg\/x": no miniprogram_npm/,
      ),
    ]);
  });

  it('flags pages listed in app.json that do not exist', () => {
    expect(messages(checkPages(root))).toEqual([
      expect.stringMatching(/^app\.json: page "pages\/gone\/index" lacks \.js, \.wxml, \.json/),
    ]);
  });

  it('reports WXML syntax errors from wcc and missing <import> targets', () => {
    const found = messages(checkWxml(root));
    expect(found).toEqual([
      expect.stringMatching(/^pages\/home\/index\.wxml: <import src="\.\/missing\.wxml"> does not exist/),
      expect.stringMatching(/^pages\/home\/index\.wxml: wcc: .*expect end-tag `view`/),
    ]);
  });

  it('reports WXSS syntax errors from wcsc', () => {
    expect(messages(checkWxss(root))).toEqual([
      expect.stringMatching(/^pages\/home\/index\.wxss: wcsc: ERR: /),
    ]);
  });

  it('flags each ES module statement, and never the same words in strings, comments or property names', () => {
    expect(messages(checkModuleSyntax(root))).toEqual(
      ESM_LINES.map(
        ([line, what]) =>
          `lib/esm.js:${line}: ${what}: ES module syntax, but WeChat's runtime loads .js as CommonJS`,
      ),
    );
  });
});

describe('the project.config.json check', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir('projects');
    writeProjectConfigs(root);
  });
  afterAll(() => root && fs.rmSync(root, { recursive: true, force: true }));

  const check = (project: string) =>
    checkProjectConfig(path.join(root, project), path.join(root, project, 'dist')).map(
      (p) => `${p.file}: ${p.message}`,
    );

  it('passes a project whose miniprogramRoot names the built folder, which has app.json', () => {
    expect(check('good')).toEqual([]);
  });

  it('flags a missing or unreadable file, a missing key, the sources folder and an unbuilt folder', () => {
    expect(check('absent')).toEqual(['project.config.json: missing']);
    expect(check('invalid')).toEqual([expect.stringMatching(/^project\.config\.json: invalid JSON/)]);
    expect(check('unset')).toEqual([expect.stringMatching(/"miniprogramRoot" is missing/)]);
    expect(check('sources')).toEqual([
      expect.stringMatching(/"miniprogramRoot" is "miniprogram\/", but the build writes the app to dist\//),
    ]);
    expect(check('unbuilt')).toEqual([
      expect.stringMatching(/"miniprogramRoot" "\.\/dist" has no app\.json/),
    ]);
  });
});
