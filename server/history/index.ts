/**
 * Call history: one record per ended call, visible to both parties. This folder owns the record shape, the
 * storage interface (memory, memory plus an append-only file, or Redis for several nodes) and the read-time
 * view (direction, peer), and the missed-call notice throttle. It must never decide call state: signalling
 * decides, then hands a finished record over.
 */
export * from './record';
export { MemoryCallHistory, type MemoryCallHistoryOptions, type RetainedRecord } from './memory';
export { FileCallHistory, type FileCallHistoryOptions, type FileCallHistoryLog } from './file';
export { RedisCallHistory, type RedisCallHistoryOptions } from './redis';
export {
  DEFAULT_NOTICE_INTERVAL_MS,
  createCallEndReporter,
  type CallEndReporter,
  type CallEndReporterOptions,
} from './report';
