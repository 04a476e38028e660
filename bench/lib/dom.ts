/**
 * Gives a plain ts-node process what jest's jsdom environment gives a component test: a DOM, then
 * miniprogram-simulate's globals (Component, Behavior, wx), then test/setup.ts's page globals. Under jest
 * (a `window` already exists) importing it does nothing, so the same scenario code serves benchmarks and guards.
 */
import Module from 'module';
import type { JSDOM as JsdomClass } from 'jsdom';

// Runs on import: import this module before anything that loads miniprogram-simulate or a component.
if (typeof window === 'undefined') installDom();

function installDom(): void {
  // Loaded only here: under jest the environment already has a DOM and this module must cost nothing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { JSDOM } = require('jsdom') as { JSDOM: typeof JsdomClass };
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
    pretendToBeVisual: true,
    url: 'http://localhost/',
  });
  const globals = globalThis as unknown as Record<string, unknown>;
  const windowProps = dom.window as unknown as Record<string, unknown>;
  // Node's own globals (setTimeout, URL, performance, …) win: timers must stay Node's for the benchmark.
  // Except the event classes: Node 20 has its own `Event`, and jsdom's dispatchEvent accepts only its own.
  const domFirst = new Set(['Event', 'EventTarget', 'CustomEvent']);
  for (const key of Object.getOwnPropertyNames(windowProps)) {
    if (key in globals && !domFirst.has(key)) continue;
    try {
      globals[key] = windowProps[key];
    } catch {
      // A few accessors throw outside a real browsing context; components use none of them.
    }
  }
  globals.window = dom.window;
  globals.document = dom.window.document;
  // simulate loads a component with `require('<dir>/index')`. Node tries `.json` before ts-node's `.ts`,
  // and every component folder has an index.json; jest avoids this with moduleFileExtensions ['ts', …].
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  const json = extensions['.json'];
  delete extensions['.json'];
  extensions['.json'] = json;
  /* eslint-disable @typescript-eslint/no-require-imports -- order matters: DOM first, then simulate */
  require('miniprogram-simulate');
  require('../../test/setup');
  /* eslint-enable @typescript-eslint/no-require-imports */
}
