/** @jest-environment node */
/**
 * Guard: no tracked file names a path on a developer's machine. Such a path means nothing to anyone else, and
 * a comment that cites NetEase's or WeChat's material through one points at a private copy instead of the
 * document: cite it by name and version ("NIM_Web_Netcall_weixin v7.7.0, `_onClientLeave`"), never by file.
 * Binary files and package-lock.json (npm's own record) are not read.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const repoRoot = path.resolve(__dirname, '../..');

/**
 * Folders that exist only on someone's machine: this workspace, Linux home folders and root's, macOS home
 * folders, Windows profiles. The lookbehind keeps URL paths (`https://host/home/x/`) and relative ones
 * (`./work/`, `~/work/`) out, while a `file://` URL to a home folder still counts.
 */
const LOCAL_PATH =
  /(?<![\w.~-])\/(?:work\/|root\/|home\/[\w.-]+\/|Users\/[^\s/'"`]+\/)|\b[A-Za-z]:(?:\\{1,2}|\/)[Uu]sers(?:\\{1,2}|\/)/g;

interface LocalPathHit {
  line: number;
  text: string;
}

/** Every local path in `text`, with its 1-based line. */
function findLocalPaths(text: string): LocalPathHit[] {
  const hits: LocalPathHit[] = [];
  text.split('\n').forEach((line, index) => {
    for (const match of line.matchAll(LOCAL_PATH)) hits.push({ line: index + 1, text: match[0] });
  });
  return hits;
}

/** Git's own test for binary content: a NUL byte early in the file. */
const isBinary = (content: Buffer) => content.subarray(0, 8000).includes(0);

/** `file:line: path` for every local path in `files` (relative to `root`), skipping what is not ours to read. */
function scanFiles(root: string, files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (path.basename(file) === 'package-lock.json') continue;
    let content: Buffer;
    try {
      content = fs.readFileSync(path.join(root, file));
    } catch {
      // Tracked but deleted in the working tree: nothing left to leak.
      continue;
    }
    if (isBinary(content)) continue;
    for (const hit of findLocalPaths(content.toString('utf8')))
      found.push(`${file}:${hit.line}: ${hit.text}`);
  }
  return found;
}

// Planted examples are assembled from parts, so this file never contains what it forbids.
const slash = '/';
const local = (...parts: string[]) => slash + parts.join(slash) + slash;
const windowsProfile = ['C:', 'Users', 'dev', ''].join('\\');

describe('the local-path matcher', () => {
  it('flags each kind of local path, with its line', () => {
    const text = [
      `see ${local('work', 'shared', 'reference')}netcall-api.md §7`,
      `const home = '${local('home', 'dev')}project';`,
      `cd ${local('root')}app && npm test`,
      `open file://${local('Users', 'jane.doe')}Desktop/sdk.js`,
      `copied from ${windowsProfile}Downloads\\sdk.js`,
      `escaped in a string: "${windowsProfile.replace(/\\/g, '\\\\')}x"`,
      `or with slashes: D:${local('users', 'dev')}x`,
    ].join('\n');
    expect(findLocalPaths(text)).toEqual([
      { line: 1, text: local('work') },
      { line: 2, text: local('home', 'dev') },
      { line: 3, text: local('root') },
      { line: 4, text: local('Users', 'jane.doe') },
      { line: 5, text: ['C:', 'Users', ''].join('\\') },
      { line: 6, text: ['C:', 'Users', ''].join('\\\\') },
      { line: 7, text: `D:${local('users')}` },
    ]);
  });

  it('leaves URLs, relative paths and look-alike words alone', () => {
    const text = [
      `https://example.com${local('home', 'dev')}page and https://host${local('work')}x`,
      `./work/ ~/work/ ../root/ homework/ network/ ${slash}workspace/ ${slash}rooted/`,
      `${slash}usr/lib/ ${slash}var/lib/ ${slash}tmp/x C:\\Program Files\\ Users/ /Users`,
      'NIM_Web_Netcall_weixin v7.7.0, `_onClientLeave` (netease-im/NIM_Web_Weapp_Demo, vendors/…)',
    ].join('\n');
    expect(findLocalPaths(text)).toEqual([]);
  });

  it('reads text files only, skipping package-lock.json and binary files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netcall-hygiene-'));
    try {
      const planted = `// from ${local('home', 'dev')}notes.md\n`;
      fs.writeFileSync(path.join(dir, 'leak.ts'), `const ok = 1;\n${planted}`);
      fs.writeFileSync(path.join(dir, 'package-lock.json'), planted);
      fs.writeFileSync(
        path.join(dir, 'image.png'),
        Buffer.concat([Buffer.from([0x89, 0]), Buffer.from(planted)]),
      );
      expect(scanFiles(dir, ['leak.ts', 'package-lock.json', 'image.png', 'gone.ts'])).toEqual([
        `leak.ts:2: ${local('home', 'dev')}`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('repository hygiene', () => {
  it("no tracked file names a path on a developer's machine", () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    // The scan must have covered the repository, not an empty or foreign listing.
    expect(files).toEqual(expect.arrayContaining(['package.json', 'services/netcall/nim-netcall.ts']));
    // This file too, tracked yet or not: its planted examples must never trip the guard once committed.
    const self = path.relative(repoRoot, __filename).split(path.sep).join('/');
    expect(scanFiles(repoRoot, [...new Set([...files, self])])).toEqual([]);
  });
});
