/**
 * Durable call history: a `MemoryCallHistory` index (same retention and flood rules) over an append-only file
 * of JSON lines, one per ended call, written synchronously before `record` returns. So a process that dies
 * right after a call ended has already handed that line to the kernel; with `fsync: true` it is on the disk.
 * At start the file is replayed into the index; a last line cut short by a crash mid-write is skipped (and
 * logged). When the file has grown well past what the index holds it is rewritten to exactly that (a temp file
 * then `rename`, so a crash mid-compaction leaves the old file whole).
 * One process per file: two servers appending to the same file would not see each other's records.
 * Never parses a line into a plain-object map keyed by user data: accounts live in Maps, records are rebuilt
 * field by field.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'fs';
import { dirname } from 'path';
import { MemoryCallHistory, type MemoryCallHistoryOptions, type RetainedRecord } from './memory';
import { CALL_OUTCOMES, recordFields, type CallHistory, type CallRecord } from './record';

export interface FileCallHistoryLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface FileCallHistoryOptions extends MemoryCallHistoryOptions {
  /** The JSON-lines file; created if missing (its folder must exist). */
  path: string;
  /**
   * Compaction starts once the file is larger than this and more than twice its size after the last
   * compaction (or load), so rewrites cost O(1) per record on average. Default 1 MiB.
   */
  compactMinBytes?: number;
  /** `fsync` after every record: survives a power cut too, at a disk flush per ended call. Default false. */
  fsync?: boolean;
  log?: FileCallHistoryLog;
}

const silent: FileCallHistoryLog = { info: () => undefined, warn: () => undefined };

/** A line's fields, checked one by one; anything else in the line is ignored. */
function parseLine(text: string): RetainedRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const line = value as Record<string, unknown>;
  const str = (key: string) => (typeof line[key] === 'string' ? (line[key] as string) : null);
  const num = (key: string) =>
    typeof line[key] === 'number' && Number.isFinite(line[key]) ? (line[key] as number) : null;
  const cid = str('cid');
  const caller = str('caller');
  const callee = str('callee');
  const endedBy = str('endedBy');
  const startedAt = num('startedAt');
  const endedAt = num('endedAt');
  const duration = num('duration');
  const answeredAt = line.answeredAt === null ? null : num('answeredAt');
  const outcome = CALL_OUTCOMES.find((known) => known === line.outcome);
  const type = line.type === 1 || line.type === 2 ? line.type : null;
  if (
    cid === null ||
    caller === null ||
    callee === null ||
    endedBy === null ||
    startedAt === null ||
    endedAt === null ||
    duration === null ||
    (answeredAt === null && line.answeredAt !== null) ||
    outcome === undefined ||
    type === null
  )
    return null;
  const record: CallRecord = {
    cid,
    caller,
    callee,
    type,
    startedAt,
    answeredAt,
    endedAt,
    duration,
    outcome,
    endedBy,
  };
  // `accounts` only appears in compacted lines, for a record retention kept on one side only.
  const accounts = Array.isArray(line.accounts)
    ? line.accounts.filter((account): account is string => typeof account === 'string')
    : [caller, callee];
  return { record, accounts };
}

/** One line; `accounts` is written only when it differs from "both parties". */
function lineOf({ record, accounts }: RetainedRecord): string {
  const both = new Set([record.caller, record.callee]);
  const whole = accounts.length === both.size && accounts.every((account) => both.has(account));
  const fields = recordFields(record);
  return `${JSON.stringify(whole ? fields : { ...fields, accounts })}\n`;
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/** Durable: every record is on file before `record` returns, and is read back at the next start. */
export class FileCallHistory implements CallHistory {
  readonly path: string;
  private readonly index: MemoryCallHistory;
  private readonly options: FileCallHistoryOptions;
  private readonly log: FileCallHistoryLog;
  private readonly compactMinBytes: number;
  private size = 0;
  private compactAt = 0;
  /** A failed append may have left half a line: the next one starts on a fresh line. */
  private tailDirty = false;

  constructor(options: FileCallHistoryOptions) {
    if (!options.path) throw new Error('FileCallHistory: `path` is required');
    this.path = options.path;
    this.options = options;
    this.log = options.log ?? silent;
    this.compactMinBytes = options.compactMinBytes ?? 1024 * 1024;
    if (!(this.compactMinBytes >= 0))
      throw new RangeError(`FileCallHistory: compactMinBytes must be >= 0, got ${this.compactMinBytes}`);
    this.index = new MemoryCallHistory(options);
    // Opening for append creates the file and fails now (wrong folder, no permission), not at the first call.
    closeSync(openSync(this.path, 'a'));
    // A compaction the previous process did not finish; the real file is still whole.
    rmSync(this.tempPath(), { force: true });
    this.load();
  }

  record(entry: CallRecord): void {
    const line = lineOf({ record: entry, accounts: [entry.caller, entry.callee] });
    try {
      this.append(line);
    } finally {
      // Listed even when the disk refused it: the caller's log says it is not durable.
      this.index.record(entry);
    }
    if (this.size > this.compactAt) this.compactQuietly();
  }

  list(account: string, limit?: number): CallRecord[] {
    return this.index.list(account, limit);
  }

  accountCount(): number {
    return this.index.accountCount();
  }

  /** Rewrites the file to exactly what the index holds. Runs by itself as the file grows; public for ops. */
  compact(): void {
    const text = this.index.retained().map(lineOf).join('');
    const temp = this.tempPath();
    const fd = openSync(temp, 'w');
    try {
      writeAll(fd, text);
      // Before the rename: otherwise a power cut could keep the new name on an empty file.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    this.syncFolder();
    this.size = Buffer.byteLength(text);
    this.tailDirty = false;
    this.compactAt = Math.max(this.compactMinBytes, 2 * this.size);
  }

  private compactQuietly(): void {
    try {
      this.compact();
    } catch (error) {
      // The log is still whole; try again only after it has doubled, not on every record.
      this.compactAt = 2 * this.size;
      this.log.warn({ path: this.path, err: (error as Error).message }, 'call history: compaction failed');
    }
  }

  private append(line: string): void {
    const fd = openSync(this.path, 'a');
    try {
      const text = this.tailDirty ? `\n${line}` : line;
      this.tailDirty = true;
      writeAll(fd, text);
      if (this.options.fsync) fsyncSync(fd);
      this.tailDirty = false;
      this.size += Buffer.byteLength(text);
    } finally {
      closeSync(fd);
    }
  }

  private load(): void {
    const bytes = readFileSync(this.path);
    const lastNewline = bytes.lastIndexOf(0x0a);
    const whole = lastNewline + 1;
    let skipped = 0;
    const body = bytes.subarray(0, whole).toString('utf8');
    for (const text of body.split('\n')) {
      if (text.trim() === '') continue;
      const line = parseLine(text);
      if (line) this.index.recordFor(line.record, line.accounts);
      else skipped++;
    }
    if (skipped > 0)
      this.log.warn({ path: this.path, skipped }, 'call history: skipped unreadable lines in the file');
    this.size = bytes.length;
    if (whole < bytes.length) {
      // The process died mid-write: the record was never acknowledged, so it is dropped, and cut off so
      // the next append does not glue onto it.
      this.log.warn(
        { path: this.path, bytes: bytes.length - whole },
        'call history: skipped a truncated last line (the process stopped mid-write)',
      );
      truncateSync(this.path, whole);
      this.size = whole;
    }
    this.compactAt = Math.max(this.compactMinBytes, 2 * this.size);
  }

  private tempPath(): string {
    return `${this.path}.compacting`;
  }

  /** Makes the rename itself durable; not every platform can open a folder, which only costs that. */
  private syncFolder(): void {
    try {
      const fd = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Windows cannot fsync a directory; the rename is still atomic.
    }
  }
}
