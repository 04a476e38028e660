/**
 * `GET /api/recordings` with `Authorization: Bearer <account token>`: the live recordings (`rtmpRecord: true`)
 * of rooms the caller hosted, newest first — `{recordings: [{channelName, cid, file, size, startedAt,
 * endedAt}]}`, one entry per file. The account comes from the verified token, never from the request, and only
 * recordings whose record names it as host are listed. Reads the recordings folder (each file's JSON record,
 * written by the mix), so what was recorded before a restart is listed after it.
 */
import { readdir, readFile, stat } from 'fs/promises';
import type { IncomingMessage, ServerResponse } from 'http';
import path from 'path';
import { Code, NetcallError } from '../../services/protocol';
import type { TokenVerifier } from '../auth/tokens';
import { RECORDING_RECORD_SUFFIX, type RecordingRecord } from '../live/mixes';
import { bearerOf } from './calls';
import { pathOf, requireGet, sendError, sendJson } from './reply';

export const RECORDINGS_PATH = '/api/recordings';

export interface RecordingView {
  channelName: string;
  cid: string;
  /** The file's name in the recordings folder. */
  file: string;
  size: number;
  startedAt: number;
  /** null while it records (or when the server stopped before finishing it). */
  endedAt: number | null;
}

export interface RecordingsRouteOptions {
  tokens: Pick<TokenVerifier, 'verify'>;
  dir: string;
}

const isRecord = (value: unknown): value is RecordingRecord => {
  const r = value as Partial<RecordingRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.host === 'string' &&
    typeof r.channelName === 'string' &&
    typeof r.cid === 'string' &&
    Array.isArray(r.files) &&
    r.files.every((f) => typeof f === 'string') &&
    typeof r.startedAt === 'number' &&
    (r.endedAt === null || typeof r.endedAt === 'number')
  );
};

/** Every recording file `account` hosted, newest first; unreadable records and missing files are skipped. */
export async function listRecordings(dir: string, account: string): Promise<RecordingView[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[]; // nothing recorded yet
    throw error;
  });
  const views: RecordingView[] = [];
  for (const name of names.filter((n) => n.endsWith(RECORDING_RECORD_SUFFIX))) {
    let record: unknown;
    try {
      record = JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    if (!isRecord(record) || record.host !== account) continue;
    for (const file of record.files) {
      // A record names files beside itself only.
      if (path.basename(file) !== file) continue;
      const size = await stat(path.join(dir, file)).then(
        (s) => (s.isFile() ? s.size : null),
        () => null,
      );
      if (size === null) continue;
      const { channelName, cid, startedAt, endedAt } = record;
      views.push({ channelName, cid, file, size, startedAt, endedAt });
    }
  }
  return views.sort((a, b) => b.startedAt - a.startedAt || a.file.localeCompare(b.file));
}

export function createRecordingsRoute(options: RecordingsRouteOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (pathOf(req) !== RECORDINGS_PATH) return false;
    try {
      requireGet(req);
      const token = bearerOf(req);
      if (token === null)
        throw new NetcallError(Code.UNAUTHORIZED, 'missing "Authorization: Bearer <token>"');
      const { account } = options.tokens.verify(token);
      sendJson(res, 200, { recordings: await listRecordings(options.dir, account) });
    } catch (error) {
      sendError(res, error);
    }
    return true;
  };
}
