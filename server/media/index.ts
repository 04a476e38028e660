/**
 * The embedded media plane: node-media-server in a supervised child process, behind the `MediaPlane`
 * interface signalling uses. This module is the parent side's public face; the worker (worker.ts and what it
 * imports: engine, fronts, nms) is never loaded into the server process.
 */
export { startMediaPlane, type MediaPlaneOptions } from './supervisor';
export type { IssuedPlayUrls, MediaHealth, MediaPlane, MediaStatus } from './plane';
export { freePort } from './ports';
