/**
 * The room page's and the dial page's decisions as plain functions: which accounts a dial line names and
 * whether that is a 1:1 or a group call, whether a room name may be sent, and an error in the user's words.
 * It never touches `wx` or the app's sessions (they are passed in), so tests need no page runtime; and it
 * names the group session only by the two methods it calls, so loading it does not load the group entry.
 */
import {
  ACCOUNT_PATTERN,
  CHANNEL_NAME_PATTERN,
  Code,
  MAX_GROUP_CALLEES,
  type CallType,
  type ScreenInsets,
} from 'miniprogram-netcall';
import type { DemoLabels } from './i18n';

export const CALL_PAGE = 'pages/call/index';
export const ROOM_PAGE = 'pages/room/index';
export const DIAL_PAGE = 'pages/dial/index';

/** A 1:1 call is going on: its phases that keep the line busy (CallSession's `active`). */
export const CALL_ACTIVE: readonly string[] = ['dialing', 'incoming', 'connecting', 'in-call'];
/** A group call or room is going on (GroupSession's `active`): leaving the page ends it. */
export const GROUP_ACTIVE: readonly string[] = ['dialing', 'incoming', 'joining', 'in-call'];

/** What a group call or room is: the GroupSession's `kind`. */
export type RoomKind = 'call' | 'room';

/** What the room page asks of the GroupSession; the real one fits as is. */
export interface RoomDoor {
  createChannel(channelName: string, type: CallType): Promise<void>;
  joinChannel(channelName: string, type: CallType): Promise<void>;
  call(callees: readonly string[], type: CallType): Promise<void>;
}

/** Commas (ASCII or full-width, as a Chinese keyboard types them), enumeration commas, semicolons, spaces. */
const SEPARATORS = /[\s,，、;；]+/;

/** The accounts a dial line names, in order, each once. */
export function splitAccounts(text: string): string[] {
  const accounts = text.split(SEPARATORS).filter((account) => account !== '');
  return accounts.filter((account, index) => accounts.indexOf(account) === index);
}

export type DialTarget = { problem: string } | { url: string };

/**
 * Where dialing `text` leads: one account is a 1:1 call (the call page), several a group call (the room
 * page dials them), or why it leads nowhere. My own account is dropped: calling myself means nothing here.
 */
export function dialTarget(text: string, me: string, type: CallType, t: DemoLabels): DialTarget {
  const callees = splitAccounts(text).filter((account) => account !== me);
  if (callees.length === 0) return { problem: t.enterCallee };
  const bad = callees.find((account) => !ACCOUNT_PATTERN.test(account));
  if (bad !== undefined) return { problem: t.badAccount.replace('{account}', bad) };
  if (callees.length > MAX_GROUP_CALLEES)
    return { problem: t.tooManyCallees.replace('{max}', String(MAX_GROUP_CALLEES)) };
  if (callees.length === 1)
    return { url: `/${CALL_PAGE}?callee=${encodeURIComponent(callees[0])}&type=${type}` };
  return { url: `/${ROOM_PAGE}?callees=${encodeURIComponent(callees.join(','))}&type=${type}` };
}

/** Why `name` may not be sent as a room name, or null when it may. */
export function roomNameProblem(name: string, t: DemoLabels): string | null {
  if (name === '') return t.enterRoomName;
  return CHANNEL_NAME_PATTERN.test(name) ? null : t.badRoomName;
}

/** A failed create, join or group call in words: the codes a user can act on, the server's message otherwise. */
export function errorText(error: unknown, kind: RoomKind, t: DemoLabels): string {
  const code = error && typeof error === 'object' && 'code' in error ? (error as { code: unknown }).code : 0;
  switch (code) {
    case Code.EXISTS:
      return t.roomTaken;
    case Code.NOT_FOUND:
      return kind === 'room' ? t.noSuchRoom : t.notOnline;
    case Code.ROOM_FULL:
      return kind === 'room' ? t.roomFull : t.callFull;
    case Code.CONFLICT:
      return t.alreadyInCall;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates or joins the room `name` (trimmed). A name the server would refuse is refused here, with the
 * words to show, and nothing is sent. Resolves to null once in the room (or the session ended it itself,
 * e.g. a refused permission), or to what went wrong.
 */
export async function enterRoom(
  door: RoomDoor,
  how: 'create' | 'join',
  name: string,
  type: CallType,
  t: DemoLabels,
): Promise<string | null> {
  const channelName = name.trim();
  const problem = roomNameProblem(channelName, t);
  if (problem !== null) return problem;
  try {
    if (how === 'create') await door.createChannel(channelName, type);
    else await door.joinChannel(channelName, type);
    return null;
  } catch (error) {
    return errorText(error, 'room', t);
  }
}

/** Rings `callees` into a group call; resolves to null once ringing, or to what went wrong. */
export async function callGroup(
  door: RoomDoor,
  callees: readonly string[],
  type: CallType,
  t: DemoLabels,
): Promise<string | null> {
  try {
    await door.call(callees, type);
    return null;
  } catch (error) {
    return errorText(error, 'call', t);
  }
}

/** The room page's query (`?callees=a,b&type=1`, as `dialTarget` writes it): whom to ring, and how. */
export function groupCallOf(query: Record<string, string | undefined>): {
  callees: string[];
  type: CallType;
} | null {
  if (!query.callees) return null;
  const callees = splitAccounts(decodeURIComponent(query.callees));
  return callees.length > 0 ? { callees, type: query.type === '1' ? 1 : 2 } : null;
}

/**
 * The form's own navigation bar (the page draws under the status bar for the screen): level with WeChat's
 * capsule and as tall, clear of it on the right; under the status bar when there is no capsule to follow.
 */
export function barStyle({ width, statusBar, menu }: ScreenInsets): string {
  const top = menu ? menu.top : statusBar + 6;
  const height = menu ? menu.height : 32;
  const right = menu ? width - menu.left : 12;
  return `padding-top:${top}px;height:${height}px;padding-right:${right}px`;
}
