import fs from 'fs';
import { createRequire } from 'module';
import path from 'path';
import { BuildError } from './typescript';

// miniprogram-api-typings redeclares the global `require` without `resolve`; this one is Node's.
const nodeRequire = createRequire(__filename);

interface Manifest {
  name: string;
  main?: string;
  miniprogram?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readManifest(root: string, name: string): { dir: string; manifest: Manifest } {
  let manifestPath: string;
  try {
    manifestPath = nodeRequire.resolve(`${name}/package.json`, { paths: [root] });
  } catch {
    throw new BuildError(`Runtime dependency "${name}" is not installed; run npm install.`);
  }
  return {
    dir: path.dirname(manifestPath),
    manifest: JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest,
  };
}

/** Source maps point at files we do not copy; DevTools would log a failed fetch for each. */
function stripSourceMapComment(code: string): string {
  return code.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

function copyJs(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, stripSourceMapComment(fs.readFileSync(from, 'utf8')));
}

function copyTree(from: string, to: string, written: string[]): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dest = path.join(to, entry.name);
    if (entry.isDirectory()) {
      copyTree(src, dest, written);
    } else if (/\.(map|d\.ts|md)$/.test(entry.name)) {
      continue;
    } else if (entry.name.endsWith('.js')) {
      copyJs(src, dest);
      written.push(dest);
    } else {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dest);
      written.push(dest);
    }
  }
}

/**
 * Does what DevTools' "build npm" does for one package, so the demo runs without that manual step:
 * a package with a `miniprogram` field ships that folder as is; any other package is entered through
 * `main`, which DevTools bundles into index.js. We only copy, so `main` must be self-contained.
 */
export function copyNpmPackage(
  root: string,
  name: string,
  outDir: string,
): { written: string[]; deps: string[] } {
  const { dir, manifest } = readManifest(root, name);
  const dest = path.join(outDir, 'miniprogram_npm', name);
  const written: string[] = [];
  if (manifest.miniprogram) {
    copyTree(path.join(dir, manifest.miniprogram), dest, written);
  } else {
    const main = nodeRequire.resolve(path.join(dir, manifest.main ?? 'index.js'));
    const code = fs.readFileSync(main, 'utf8');
    // A relative require would need a bundler; environment switches (process.env) would crash at run time.
    if (/\brequire\(\s*['"]\.{1,2}\//.test(code) || /\bprocess\.env\b/.test(code)) {
      throw new BuildError(
        `${name}: main file ${path.relative(dir, main)} is not self-contained; it needs bundling before it can run in a mini-program.`,
      );
    }
    copyJs(main, path.join(dest, 'index.js'));
    written.push(path.join(dest, 'index.js'));
  }
  const deps = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
  return { written, deps };
}

/** Copies `names` and everything they depend on at run time into `<outDir>/miniprogram_npm/`. */
export function copyNpmDependencies(root: string, names: string[], outDir: string): string[] {
  const seen = new Set<string>();
  const queue = [...names];
  const written: string[] = [];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const copied = copyNpmPackage(root, name, outDir);
    written.push(...copied.written);
    queue.push(...copied.deps);
  }
  return written;
}
