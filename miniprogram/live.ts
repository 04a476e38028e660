/**
 * The live pages' decisions as plain functions: the directory (`GET /api/live` with the login's token) and
 * how a room of it reads in the list, the split modes the "go live" form offers, whether a name may be
 * sent, and a refusal in the user's words. It never touches `wx` itself (the request is passed in) or the
 * app's sessions, so tests need no page runtime; it names the live session only by the methods it calls.
 */
import { CHANNEL_NAME_PATTERN, Code, Layout, type SessionConfig } from 'miniprogram-netcall';
import type { DemoLabels } from './i18n';

export const LIVE_PAGE = 'pages/live/index';
export const GOLIVE_PAGE = 'pages/golive/index';
export const WATCH_PAGE = 'pages/watch/index';

/** A live is going on (LiveSession's active phases, and closing): leaving the page ends it. */
export const LIVE_ACTIVE: readonly string[] = [
  'joining',
  'host',
  'audience',
  'requesting',
  'invited',
  'cohost',
  'closing',
];

/** One room of the directory, as the server lists it. */
export interface LiveEntry {
  channelName: string;
  host: string;
  coHosts: string[];
  audience: number;
  startedAt: number;
}

/** One line of the list page. */
export interface LiveLine {
  channelName: string;
  host: string;
  /** "alice · 2 on stage · 12 watching" */
  about: string;
}

/** The split modes the form offers, in NetEase's constants (custom layouts need JSON: not in a form). */
export const SPLIT_MODES: readonly { mode: number; key: keyof DemoLabels }[] = [
  { mode: Layout.LAYOUT_SPLITLATTICETILE, key: 'splitTile' },
  { mode: Layout.LAYOUT_SPLITBOTTOMHORFLOATING, key: 'splitFloatBottom' },
  { mode: Layout.LAYOUT_SPLITTOPHORFLOATING, key: 'splitFloatTop' },
  { mode: Layout.LAYOUT_SPLITLATTICECUTTINGTILE, key: 'splitCutTile' },
  { mode: Layout.LAYOUT_SPLITAUDIOLAYOUT, key: 'splitAudio' },
];

/** What a page passes in to fetch: `wx.request`'s shape, so a test can give its own. */
export type Fetch = (options: {
  url: string;
  header: Record<string, string>;
  success(result: { statusCode: number; data: unknown }): void;
  fail(result: { errMsg: string }): void;
}) => void;

/** The live rooms now (`GET <http>/api/live`, Bearer token), oldest first; rejects with the server's words. */
export function fetchLiveRooms(fetch: Fetch, http: string, token: string): Promise<LiveEntry[]> {
  return new Promise((resolve, reject) =>
    fetch({
      url: `${http}/api/live`,
      header: { authorization: `Bearer ${token}` },
      success: ({ statusCode, data }) => {
        const body = (data ?? {}) as { rooms?: LiveEntry[]; message?: string };
        if (statusCode === 200 && Array.isArray(body.rooms)) resolve(body.rooms);
        else reject(new Error(body.message || `GET /api/live: ${statusCode}`));
      },
      fail: ({ errMsg }) => reject(new Error(errMsg)),
    }),
  );
}

export function liveLine(room: LiveEntry, t: DemoLabels): LiveLine {
  const parts = [room.host];
  if (room.coHosts.length > 0) parts.push(t.onStage.replace('{count}', String(room.coHosts.length + 1)));
  parts.push(t.watchingCount.replace('{count}', String(room.audience)));
  return { channelName: room.channelName, host: room.host, about: parts.join(' · ') };
}

/** The host's settings from the form: a split mode, and approval for the stage when asked. */
export function sessionConfigOf(splitIndex: number, approval: boolean): SessionConfig {
  const split = SPLIT_MODES[splitIndex] ?? SPLIT_MODES[0];
  return approval ? { splitMode: split.mode, stageApproval: true } : { splitMode: split.mode };
}

/** Why `name` may not be sent as a live room's name, or null when it may. */
export function liveNameProblem(name: string, t: DemoLabels): string | null {
  if (name === '') return t.enterRoomName;
  return CHANNEL_NAME_PATTERN.test(name) ? null : t.badRoomName;
}

/** A refused go-live or watch in words: the codes a user can act on, the server's message otherwise. */
export function liveErrorText(error: unknown, t: DemoLabels): string {
  const code = error && typeof error === 'object' && 'code' in error ? (error as { code: unknown }).code : 0;
  switch (code) {
    case Code.EXISTS:
      return t.roomTaken;
    case Code.NOT_FOUND:
      return t.notLive;
    case Code.ROOM_FULL:
      return t.roomFull;
    case Code.CONFLICT:
      return t.alreadyInCall;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The watch page's query (`?channel=…&host=…`, as the list writes it). */
export function watchTarget(
  query: Record<string, string | undefined>,
): { channelName: string; host: string } | null {
  if (!query.channel) return null;
  return { channelName: decodeURIComponent(query.channel), host: decodeURIComponent(query.host ?? '') };
}
