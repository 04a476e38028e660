/**
 * Call history: one record per ended call, visible to both parties. This folder owns the record shape, the
 * storage interface (memory today, Redis later, like store/) and the read-time view (direction, peer).
 * It must never decide call state: signalling decides, then hands a finished record over.
 */
export * from './record';
export { MemoryCallHistory, type MemoryCallHistoryOptions } from './memory';
export { createCallEndReporter, type CallEndReporter, type CallEndReporterOptions } from './report';
