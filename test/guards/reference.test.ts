/**
 * Guard: the reference in docs/quick-start.md and the types in components/types.ts say what the code does.
 * Each component's definition is captured as it is passed to `Component()` (the global is wrapped while the
 * module loads, as bench/lib/room-scenario.ts does), its events are read from its sources (literal
 * `triggerEvent('…')` names, the shared screen methods it spreads, and the element events its template binds
 * to a handler that re-emits `event.type`), its slots from its WXML. Service classes' public methods come
 * from TypeScript's checker (inherited ones included, private and protected ones not).
 */
import fs from 'fs';
import path from 'path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs/quick-start.md'), 'utf8');
/** Every complete component (a folder with an index.json that says so): a new one needs its reference. */
const COMPONENTS = fs
  .readdirSync(path.join(ROOT, 'components'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) => {
    const json = path.join(ROOT, 'components', name, 'index.json');
    return (
      fs.existsSync(json) && (JSON.parse(fs.readFileSync(json, 'utf8')) as { component?: boolean }).component
    );
  })
  .sort();
const SERVICES: Record<string, string> = {
  CallSession: 'services/call/session.ts',
  GroupSession: 'services/call/group-session.ts',
  LiveSession: 'services/live/live-session.ts',
  Netcall: 'services/netcall/netcall.ts',
  NimNetcall: 'services/netcall/nim-netcall.ts',
  MediaRoster: 'services/media/roster.ts',
};
/** The names components/types.ts gives a component's properties, events and instance: `CallScreen…`. */
function typeNames(name: string): { properties: string; events: string; instance: string } {
  const pascal = name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
  // The two tiles forward the same element events.
  const events =
    name === 'netcall-pusher' || name === 'netcall-player' ? 'NetcallTileEvents' : `${pascal}Events`;
  return { properties: `${pascal}Properties`, events, instance: `${pascal}Instance` };
}

// ---- the document --------------------------------------------------------------------------------------

/** The text under `### name` up to the next heading. */
function section(name: string): string {
  const start = DOC.indexOf(`\n### ${name}\n`);
  if (start < 0) throw new Error(`docs/quick-start.md has no "### ${name}" section`);
  const rest = DOC.slice(start + name.length + 6);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The rows of the table whose header starts with `| first |`, as cells. */
function table(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const head = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  if (head < 0) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** Every `name` or `name(args)` in backticks in a cell. */
const names = (cell: string) => [...cell.matchAll(/`([A-Za-z_$][\w$-]*)(\([^`]*\))?`/g)].map((m) => m[1]);

/** Every `name(args)` in backticks: a method as the reference writes it. */
const calls = (text: string) => [...text.matchAll(/`([A-Za-z_$][\w$]*)\([^`]*\)`/g)].map((m) => m[1]);

/** A default as the table writes it: `'en'`, `true`, `{}`, `null`, a number. */
function parseDefault(cell: string): unknown {
  const code = /^`(.*)`$/.exec(cell)?.[1];
  if (code === undefined) throw new Error(`default "${cell}" is not in backticks`);
  return JSON.parse(code.replace(/^'(.*)'$/, '"$1"'));
}

function docLine(text: string, label: string): string {
  const line = text.split('\n').find((l) => l.includes(`${label}:`));
  if (!line) throw new Error(`no "${label}:" line`);
  return line.slice(line.indexOf(`${label}:`) + label.length + 1).split(/\.\s|$/)[0];
}

// ---- the components ------------------------------------------------------------------------------------

interface Definition {
  properties: Record<string, { type: { name: string }; value: unknown }>;
  methods: Record<string, unknown>;
  externalClasses: string[];
}

/** The options `components/<name>/index.ts` passes to `Component()`, captured instead of registered. */
function captureDefinition(name: string): Definition {
  const globals = globalThis as unknown as { Component: (definition: Definition) => string };
  const original = globals.Component;
  let captured: Definition | undefined;
  globals.Component = (definition) => {
    captured = definition;
    return name;
  };
  try {
    jest.isolateModules(() => {
      jest.requireActual(path.join(ROOT, 'components', name, 'index'));
    });
  } finally {
    globals.Component = original;
  }
  if (!captured) throw new Error(`components/${name}/index.ts registered no component`);
  return captured;
}

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The source of function `name` in `file`. */
function functionText(file: string, name: string): string {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true);
  const found = source.statements.find((s) => ts.isFunctionDeclaration(s) && s.name?.text === name);
  if (!found) throw new Error(`${file} has no function ${name}`);
  return found.getText(source);
}

/**
 * The first arguments of `triggerEvent(…)` calls (string literals, or the `event.type` a handler re-emits) and
 * the names `forwardThrottled` re-emits.
 */
function triggered(code: string): { literal: string[]; reemitters: boolean } {
  const calls = [...code.matchAll(/triggerEvent\(\s*([^,)]+)/g)].map((m) => m[1].trim());
  // A literal, or a choice between literals (`agreed ? 'agree' : 'disagree'`).
  const literals = (arg: string) =>
    /^'[^']+'$/.test(arg)
      ? [arg.slice(1, -1)]
      : (/^[\w.!]+\s*\?\s*'([^']+)'\s*:\s*'([^']+)'$/.exec(arg)?.slice(1) ?? []);
  // `forwardThrottled(this, 'netstatus', …)` (components/common/component.ts) emits its second argument.
  const forwarded = [...code.matchAll(/forwardThrottled\(\s*this,\s*'([^']+)'/g)].map((m) => m[1]);
  const literal = [...calls.flatMap(literals), ...forwarded];
  const other = calls.filter((arg) => literals(arg).length === 0 && arg !== 'event.type' && arg !== 'name');
  if (other.length > 0) throw new Error(`triggerEvent(${other.join(', ')}): cannot tell the event name`);
  return { literal, reemitters: calls.includes('event.type') };
}

/** Methods of the component in `file` whose body re-emits `event.type`. */
function methodsReemitting(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isMethodDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      /triggerEvent\(\s*event\.type/.test(node.getText(source))
    )
      found.push(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The events a component emits, from its sources. */
function emittedEvents(name: string): string[] {
  const file = `components/${name}/index.ts`;
  const source = read(file);
  const wxml = read(`components/${name}/index.wxml`);
  const events = new Set(triggered(source).literal);
  if (source.includes('screenMethods'))
    for (const event of triggered(functionText('components/common/component.ts', 'screenMethods')).literal)
      events.add(event);
  // Handlers that re-emit the element event they were bound to: their bindings in the template are events.
  const reemitting = methodsReemitting(file, source);
  if (source.includes('...mediaEventHandlers')) reemitting.push('onMedia');
  for (const handler of reemitting)
    for (const m of wxml.matchAll(new RegExp(`\\bbind:?(\\w+)="${handler}"`, 'g'))) events.add(m[1]);
  return [...events].sort();
}

function slotsOf(name: string): string[] {
  return [...read(`components/${name}/index.wxml`).matchAll(/<slot\b([^>]*)>/g)]
    .map((m) => /\bname="([^"]+)"/.exec(m[1])?.[1] ?? 'default')
    .sort();
}

// ---- components/types.ts -------------------------------------------------------------------------------

const typesFile = ts.createSourceFile(
  'components/types.ts',
  read('components/types.ts'),
  ts.ScriptTarget.Latest,
  true,
);

/** Member names of interface `name` in components/types.ts (its own, not inherited). */
function interfaceMembers(name: string): string[] {
  const found = typesFile.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!found) throw new Error(`components/types.ts has no interface ${name}`);
  return found.members.map((member) => (member.name as ts.Identifier).text).sort();
}

// ---- the tests ------------------------------------------------------------------------------------------

describe.each(COMPONENTS)('<%s> reference', (name) => {
  const types = typeNames(name);
  let definition: Definition;
  let text: string;
  // In beforeAll, so that a component without a section fails its own tests, not the whole file.
  beforeAll(() => {
    definition = captureDefinition(name);
    text = section(name);
  });

  it('lists every property with its type and default, and only those', () => {
    const rows = table(text, 'property').map(([property, type, value]) => ({
      name: names(property)[0],
      type,
      value: parseDefault(value),
    }));
    const actual = Object.entries(definition.properties).map(([property, spec]) => ({
      name: property,
      type: spec.type.name,
      value: spec.value,
    }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(rows.sort(byName)).toEqual(actual.sort(byName));
  });

  it('lists every event it emits, and only those', () => {
    const documented = table(text, 'event').map(([event]) => names(event)[0]);
    expect(documented.sort()).toEqual(emittedEvents(name));
  });

  it('names its external classes, slots and methods', () => {
    expect(names(docLine(text, 'External classes')).sort()).toEqual([...definition.externalClasses].sort());
    const slots = docLine(text, 'Slots');
    const documentedSlots = /\bnone\b/.test(slots)
      ? []
      : [...(/default slot/.test(slots) ? ['default'] : []), ...names(slots)].sort();
    expect(documentedSlots).toEqual(slotsOf(name));
    const line = docLine(text, 'Methods');
    const methods = calls(line);
    // A component without methods for its host says so, and has no instance type.
    expect(methods.length === 0).toBe(/^\s*none\b/.test(line));
    for (const method of methods) expect(typeof definition.methods[method]).toBe('function');
    if (methods.length > 0) expect(methods.sort()).toEqual(interfaceMembers(types.instance));
    else expect(() => interfaceMembers(types.instance)).toThrow();
  });

  it('has types for the same properties and events (components/types.ts)', () => {
    expect(interfaceMembers(types.properties)).toEqual(Object.keys(definition.properties).sort());
    expect(interfaceMembers(types.events)).toEqual(emittedEvents(name));
  });
});

describe('service classes reference', () => {
  const program = ts.createProgram(
    Object.values(SERVICES).map((file) => path.join(ROOT, file)),
    {
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['miniprogram-api-typings'],
      typeRoots: [path.join(ROOT, 'node_modules')],
    },
  );
  const checker = program.getTypeChecker();
  const hidden = ts.ModifierFlags.Private | ts.ModifierFlags.Protected;

  function publicMethods(name: string): string[] {
    const source = program.getSourceFile(path.join(ROOT, SERVICES[name]));
    const declaration = source?.statements.find(
      (s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === name,
    );
    if (!declaration) throw new Error(`${SERVICES[name]} declares no class ${name}`);
    return checker
      .getPropertiesOfType(checker.getTypeAtLocation(declaration))
      .filter((symbol) => symbol.flags & ts.SymbolFlags.Method)
      .filter(
        (symbol) =>
          !(symbol.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d as ts.Declaration) & hidden),
      )
      .map((symbol) => symbol.name)
      .sort();
  }

  it.each(Object.keys(SERVICES))('%s: the table lists every public method, and only those', (name) => {
    const documented = table(section(name), 'method').flatMap(([cell]) => names(cell));
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented.sort()).toEqual(publicMethods(name));
  });
});
