/**
 * Preloaded (`node -r`) into the server under load, which is the compiled CLI run as `miniprogram-netcall-server`
 * runs (load-processes.ts builds both): the load child's two ends, the collection on request, and the
 * collections it ran in a window (load-child.ts). When the benchmark goes or the run's deadline passes, the
 * CLI gets the SIGTERM an operator would send: it ends every call, closes every socket and its media process,
 * and exits.
 */
import { requireLoopback } from './load-bounds';
import { answerCollect, answerCollections, boundChild } from './load-child';

const host = process.argv[process.argv.indexOf('--host') + 1];
// The generator dials only loopback, so the server it loads must listen there and nowhere else.
if (!process.argv.includes('--host') || !host) throw new Error('load-server: --host is required');
requireLoopback(`ws://${host.includes(':') ? `[${host}]` : host}`);

boundChild(() => process.kill(process.pid, 'SIGTERM'), 20_000);
answerCollect();
answerCollections();
