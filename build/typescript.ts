import fs from 'fs';
import path from 'path';
import ts from 'typescript';
import { type BuildConfig, type Target, routeFile } from './config';

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
    // gulp prints the stack of a failed task; the compiler's own message is the useful part.
    this.stack = message;
  }
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => '\n',
};

export function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost);
}

/**
 * The compiler writes into a scratch outDir mirroring the repository; `writer` moves each file to its route.
 * Layout lives in config.ts rather than in tsconfig so one program can feed two folders (demo root, npm).
 */
function scratchOutDir(target: Target): string {
  return path.join(target.outDir, '.tsc');
}

function emitOptions(config: BuildConfig, target: Target): ts.CompilerOptions {
  return {
    noEmit: false,
    noEmitOnError: true,
    rootDir: config.root,
    outDir: scratchOutDir(target),
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2017,
    declaration: target.declarations,
    emitDeclarationOnly: false,
    // A mini-program has no tslib and no way to load .map files from a package.
    importHelpers: false,
    noEmitHelpers: false,
    sourceMap: false,
    inlineSourceMap: false,
    declarationMap: false,
    composite: false,
    incremental: false,
  };
}

function parseConfig(config: BuildConfig, target: Target): ts.ParsedCommandLine {
  const read = ts.readConfigFile(config.tsconfig, ts.sys.readFile);
  if (read.error) throw new BuildError(formatDiagnostics([read.error]));
  const parsed = ts.parseJsonConfigFileContent(
    read.config,
    ts.sys,
    path.dirname(config.tsconfig),
    emitOptions(config, target),
    config.tsconfig,
  );
  if (parsed.errors.length > 0) throw new BuildError(formatDiagnostics(parsed.errors));
  return parsed;
}

const hasModuleFile = (base: string) =>
  ['.ts', '.d.ts', '.js', '.json'].some((ext) => fs.existsSync(base + ext));

/**
 * Rewrites `require("./stores")` of a folder to `require("./stores/index")`. Node and TypeScript resolve
 * folder indexes, but whether the mini-program runtime does is not something the output should bet on.
 * Runs after the CommonJS transform, so only requires that survived import elision are touched.
 */
const explicitFolderIndex: ts.TransformerFactory<ts.SourceFile> = (context) => (sourceFile) => {
  const dir = path.dirname(sourceFile.fileName);
  const visit = (node: ts.Node): ts.Node => {
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'require' &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      const spec = node.arguments[0].text;
      const base = path.resolve(dir, spec);
      if (spec.startsWith('.') && !hasModuleFile(base) && hasModuleFile(path.join(base, 'index'))) {
        const explicit = context.factory.createStringLiteral(`${spec.replace(/\/$/, '')}/index`);
        return context.factory.updateCallExpression(node, node.expression, node.typeArguments, [explicit]);
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return ts.visitNode(sourceFile, visit) as ts.SourceFile;
};

const transformers: ts.CustomTransformers = { after: [explicitFolderIndex] };

export interface EmitResult {
  written: string[];
  /** Emitted files no route ships: the target imports code it does not contain (e.g. `services` → `server`). */
  strays: string[];
}

function createWriter(config: BuildConfig, target: Target, result: EmitResult): ts.WriteFileCallback {
  const scratch = scratchOutDir(target);
  return (fileName, text) => {
    const asSource = path.join(config.root, path.relative(scratch, fileName));
    const dest = routeFile(config, target, asSource);
    if (dest === null) {
      result.strays.push(path.relative(config.root, asSource));
      return;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, text);
    result.written.push(dest);
  };
}

function strayError(target: Target, strays: string[]): BuildError {
  return new BuildError(
    `The ${target.name} build pulls in files it does not ship (imported from outside its source folders):\n` +
      strays.map((s) => `  ${s}`).join('\n'),
  );
}

/** Type-checks and emits `target`; any error (type, option, stray import) throws before anything is written. */
export function compile(config: BuildConfig, target: Target): EmitResult {
  const parsed = parseConfig(config, target);
  const rootNames = parsed.fileNames.filter(
    (f) => f.endsWith('.d.ts') || routeFile(config, target, path.resolve(f)) !== null,
  );
  const program = ts.createProgram({
    rootNames,
    options: parsed.options,
    projectReferences: parsed.projectReferences,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) throw new BuildError(formatDiagnostics(diagnostics));

  // Checked before emitting so a stray import fails the build without leaving half an output tree.
  const strays = program
    .getSourceFiles()
    .filter((sf) => !sf.isDeclarationFile && !program.isSourceFileFromExternalLibrary(sf))
    .filter((sf) => routeFile(config, target, path.resolve(sf.fileName)) === null)
    .map((sf) => path.relative(config.root, sf.fileName));
  if (strays.length > 0) throw strayError(target, strays);

  const result: EmitResult = { written: [], strays: [] };
  const emitted = program.emit(
    undefined,
    createWriter(config, target, result),
    undefined,
    false,
    transformers,
  );
  if (emitted.diagnostics.length > 0) throw new BuildError(formatDiagnostics(emitted.diagnostics));
  return result;
}

/**
 * Incremental compile on change: TypeScript's own watcher re-checks only what a change affects and
 * re-emits only the affected files. On errors nothing is emitted; the builder keeps those files pending
 * so the next clean pass writes them.
 */
export function watchCompile(
  config: BuildConfig,
  target: Target,
  log: { info(message: string): void; error(message: string): void },
): { close(): void } {
  const host = ts.createWatchCompilerHost(
    config.tsconfig,
    emitOptions(config, target),
    ts.sys,
    ts.createEmitAndSemanticDiagnosticsBuilderProgram,
    (d) => log.error(formatDiagnostics([d])),
    (d) => log.info(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  );
  host.afterProgramCreate = (builder) => {
    const diagnostics = [
      ...builder.getConfigFileParsingDiagnostics(),
      ...builder.getOptionsDiagnostics(),
      ...builder.getGlobalDiagnostics(),
      ...builder.getSyntacticDiagnostics(),
      ...builder.getSemanticDiagnostics(),
    ];
    if (diagnostics.length > 0) {
      log.error(formatDiagnostics(diagnostics));
      log.error(`${diagnostics.length} error(s); nothing written. Watching for file changes.`);
      return;
    }
    const result: EmitResult = { written: [], strays: [] };
    builder.emit(undefined, createWriter(config, target, result), undefined, false, transformers);
    if (result.strays.length > 0) log.error(strayError(target, result.strays).message);
    log.info(`0 errors, wrote ${result.written.length} file(s). Watching for file changes.`);
  };
  return ts.createWatchProgram(host);
}
