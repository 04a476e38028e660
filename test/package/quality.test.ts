/** @jest-environment node */
/**
 * WeChat's code-quality scan and static dependency analysis on the demo, as DevTools runs them before an upload
 * (its "代码质量" panel and "代码依赖分析"), through miniprogram-ci's `checkCodeQuality` and `analyseCode`. Both
 * run offline on the project folder: no appid, key or network. `gulp build` goes to a temporary folder laid
 * out like the repository (project.config.json beside `dist/`), so the scan reads the real project settings
 * (minify flags) and the real app.json.
 *
 * What the scan covers: the main package under 1.5 MB (WeChat's recommendation; the hard limit is 2 MB, also
 * asserted on its own measure), JS/WXML/WXSS minified on upload, `lazyCodeLoading`, images and audio under
 * 200 KB, no main-package code or components only a subpackage uses, no unused plugins or components.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import gulp, { type TaskFunction } from 'gulp';
import { createConfig } from '../../build/config';
import { createTasks, type Logger } from '../../build/tasks';
import { runWechat } from './wechat';

const REPO = path.resolve(__dirname, '../..');
/** WeChat's limit for the main package (and for each subpackage) at upload. */
const MAIN_PACKAGE_LIMIT = 2 * 1024 * 1024;

interface QualityItem {
  name: string;
  success: boolean;
  text: string;
  detail?: unknown;
}

interface Analysis {
  files: Array<{ path: string; moduleId: string | null }>;
  modules: Array<{ id: string; errors?: unknown[]; deps: Array<{ request: string; error?: unknown }> }>;
}

const quiet: Logger = { info: () => undefined, error: () => undefined };
const runTask = (task: TaskFunction) =>
  new Promise<void>((resolve, reject) => task((error?: unknown) => (error ? reject(error) : resolve())));

let tmp: string;
let quality: QualityItem[];
let analysis: Analysis;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'netcall-quality-'));
  const projectConfig = JSON.parse(fs.readFileSync(path.join(REPO, 'project.config.json'), 'utf8')) as {
    miniprogramRoot: string;
  };
  gulp.on('error', () => undefined);
  const config = createConfig(REPO, { appOutDir: path.join(tmp, projectConfig.miniprogramRoot) });
  await runTask(createTasks(config, quiet).build);
  fs.copyFileSync(path.join(REPO, 'project.config.json'), path.join(tmp, 'project.config.json'));
  quality = runWechat({ task: 'quality', projectPath: tmp }) as QualityItem[];
  analysis = runWechat({ task: 'analyse', projectPath: tmp }) as Analysis;
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("WeChat's code quality scan of the demo", () => {
  it('runs every check', () => {
    expect(quality.map((item) => item.name)).toEqual(
      expect.arrayContaining([
        'PACKAGE_SIZE_LIMIT',
        'JS_COMPRESS_OPEN',
        'WXML_COMPRESS_OPEN',
        'WXSS_COMPRESS_OPEN',
        'LAZYCODE_LOADING_OPEN',
        'IMAGE_AND_AUDIO_LIMIT',
        'CONTAINS_UNUSED_COMPONENTS',
      ]),
    );
  });

  it('passes every check', () => {
    // `text` is the check's failure message ("LazyCodeLoading is not turned on", …).
    const failed = quality.filter((item) => !item.success).map((item) => `${item.name}: ${item.text}`);
    expect(failed).toEqual([]);
  });

  it('keeps the main package within the 2 MB limit', () => {
    const size = quality.find((item) => item.name === 'PACKAGE_SIZE_LIMIT')?.detail as
      Record<string, number> | undefined;
    expect(size?.__APP__).toBeGreaterThan(0);
    expect(size?.__APP__).toBeLessThan(MAIN_PACKAGE_LIMIT);
  });
});

describe("WeChat's static dependency analysis of the demo", () => {
  it('reaches every page and component and finds every dependency', () => {
    expect(analysis.modules.map((module) => module.id)).toEqual(
      expect.arrayContaining([
        'Page:pages/call/index.json',
        'Component:miniprogram_npm/miniprogram-netcall/components/call-screen/index.json',
        'Component:miniprogram_npm/miniprogram-netcall/components/room-screen/index.json',
      ]),
    );
    const broken = analysis.modules.flatMap((module) => [
      ...(module.errors ?? []).map((error) => `${module.id}: ${JSON.stringify(error)}`),
      ...module.deps
        .filter((dep) => dep.error)
        .map((dep) => `${module.id} → ${dep.request}: ${JSON.stringify(dep.error)}`),
    ]);
    expect(broken).toEqual([]);
  });
});
