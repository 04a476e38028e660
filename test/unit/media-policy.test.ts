/**
 * The media policy against WeChat's code tables (live-pusher and live-player statechange, live-pusher
 * binderror): every documented code has one expected reaction here, so a code nobody thought about cannot
 * slip through as "none" by accident, and MediaHealth's hints per tile.
 */
import {
  MediaHealth,
  POOR_NETWORK_HINT_MS,
  reactToMediaCode,
  type Hints,
  type HintChange,
  type MediaAction,
  type MediaReaction,
  type TileHint,
} from '../../services/call';
import type { Timers } from '../../services/platform';

const react = (source: 'pusher' | 'player', code: number, failures = 0): MediaReaction =>
  reactToMediaCode({ source, uid: '1', code }, failures);

type Expected = [MediaAction, MediaReaction['hint']];
const FLOWING: HintChange = { clear: ['reconnecting', 'buffering'] };
const shows = (hint: TileHint): HintChange => ({ show: hint });

/** WeChat's live-pusher table (statechange and binderror), code by code. */
const PUSHER: Record<number, Expected> = {
  0: ['none', null],
  1001: ['none', FLOWING],
  1002: ['none', FLOWING],
  1003: ['none', null],
  1004: ['none', null],
  1005: ['none', null],
  1006: ['none', null],
  1007: ['none', null],
  1008: ['none', null],
  1018: ['none', null],
  1019: ['none', null],
  1020: ['none', null],
  1021: ['none', null],
  1022: ['none', null],
  1031: ['none', null],
  1032: ['none', null],
  1033: ['none', null],
  1034: ['none', null],
  1101: ['none', shows('poor-network')],
  1102: ['none', shows('reconnecting')],
  1103: ['none', null],
  1104: ['none', null],
  1105: ['none', null],
  1106: ['none', null],
  3001: ['none', shows('reconnecting')],
  3002: ['none', shows('reconnecting')],
  3003: ['none', shows('reconnecting')],
  3004: ['refresh-url', shows('reconnecting')],
  3005: ['none', shows('reconnecting')],
  4998: ['none', null],
  4999: ['none', null],
  5000: ['background', null],
  5001: ['background', null],
  10001: ['permission-camera', null],
  10002: ['permission-record', null],
  10003: ['none', null],
  10004: ['none', null],
  [-1301]: ['camera-unavailable', null],
  [-1302]: ['microphone-failed', null],
  [-1303]: ['restart', shows('reconnecting')],
  [-1304]: ['restart', shows('reconnecting')],
  [-1305]: ['media-failed', null],
  [-1306]: ['media-failed', null],
  [-1307]: ['restart', shows('reconnecting')],
  [-1308]: ['none', null],
  [-1309]: ['none', null],
  [-1310]: ['none', null],
  [-1311]: ['microphone-failed', null],
  [-1312]: ['none', null],
};

/** WeChat's live-player table, code by code. */
const PLAYER: Record<number, Expected> = {
  2001: ['none', FLOWING],
  2002: ['none', FLOWING],
  2003: ['none', FLOWING],
  2004: ['none', FLOWING],
  2005: ['none', null],
  2006: ['none', shows('video-paused')],
  2007: ['none', shows('buffering')],
  2008: ['none', null],
  2009: ['none', null],
  2030: ['none', null],
  2032: ['none', FLOWING],
  2101: ['none', null],
  2102: ['none', null],
  2103: ['none', shows('reconnecting')],
  2104: ['none', shows('poor-network')],
  2105: ['none', shows('poor-network')],
  2106: ['none', null],
  2107: ['none', null],
  2108: ['none', null],
  3001: ['none', shows('reconnecting')],
  3002: ['none', shows('reconnecting')],
  3003: ['none', shows('reconnecting')],
  3004: ['refresh-url', shows('reconnecting')],
  3005: ['none', shows('reconnecting')],
  [-2301]: ['replay', shows('reconnecting')],
  [-2302]: ['refresh-url', shows('reconnecting')],
};

describe('media policy: every documented code', () => {
  it.each(Object.entries(PUSHER))('pusher %s', (code, [action, hint]) => {
    expect(react('pusher', Number(code))).toEqual({ action, hint });
  });

  it.each(Object.entries(PLAYER))('player %s', (code, [action, hint]) => {
    expect(react('player', Number(code))).toEqual({ action, hint });
  });

  it('gives an encoder one restart and a player one replay, then gives up on them', () => {
    expect(react('pusher', -1303, 1).action).toBe('media-failed');
    expect(react('pusher', -1304, 1).action).toBe('media-failed');
    expect(react('player', -2301, 1).action).toBe('refresh-url');
    // -1307 is the engine asking for a restart every time; the session bounds the rest with fresh URLs.
    expect(react('pusher', -1307, 5).action).toBe('restart');
  });

  it('treats unknown and cross-element codes as info', () => {
    expect(react('player', 6000).action).toBe('none');
    expect(react('pusher', 123456)).toEqual({ action: 'none', hint: null });
    // A player code from a pusher (and the other way) means nothing.
    expect(react('pusher', 2006)).toEqual({ action: 'none', hint: null });
    expect(react('player', -1302)).toEqual({ action: 'none', hint: null });
  });
});

describe('MediaHealth: hints per tile', () => {
  let hints: Hints[];
  let health: MediaHealth;
  const timers: Timers = {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
    now: () => Date.now(),
  };
  const last = () => hints.at(-1);

  beforeEach(() => {
    jest.useFakeTimers();
    hints = [];
    health = new MediaHealth(timers, (next) => hints.push(next));
  });
  afterEach(() => jest.useRealTimers());

  it('shows poor network on the right tile until the engine stops repeating it', () => {
    health.handle({ source: 'player', uid: '2', code: 2104 });
    expect(last()).toEqual({ '2': 'poor-network' });
    jest.advanceTimersByTime(POOR_NETWORK_HINT_MS - 1);
    health.handle({ source: 'pusher', uid: '1', code: 1101 });
    expect(last()).toEqual({ '2': 'poor-network', '1': 'poor-network' });
    jest.advanceTimersByTime(1);
    expect(last()).toEqual({ '1': 'poor-network' });
    jest.advanceTimersByTime(POOR_NETWORK_HINT_MS);
    expect(last()).toEqual({});
  });

  it('shows reconnecting and buffering until the stream flows, without a weaker hint hiding them', () => {
    health.handle({ source: 'player', uid: '2', code: 2103 });
    health.handle({ source: 'player', uid: '2', code: 2105 });
    expect(last()).toEqual({ '2': 'reconnecting' });
    health.handle({ source: 'player', uid: '2', code: 2004 });
    expect(last()).toEqual({});
    health.handle({ source: 'player', uid: '2', code: 2007 });
    expect(last()).toEqual({ '2': 'buffering' });
    health.handle({ source: 'player', uid: '2', code: 2032 });
    expect(last()).toEqual({});
    health.handle({ source: 'pusher', uid: '1', code: 1102 });
    health.handle({ source: 'pusher', uid: '1', code: 1002 });
    expect(last()).toEqual({});
    expect(hints).toHaveLength(6);
  });

  it('keeps "video paused" on a tile until its URL changes, and forgets a tile that left', () => {
    health.handle({ source: 'player', uid: '2', code: 2006 });
    health.handle({ source: 'player', uid: '2', code: 2004 });
    health.handle({ source: 'player', uid: '2', code: 2007 });
    expect(last()).toEqual({ '2': 'video-paused' });
    health.rosterChanged([
      { kind: 'update', index: 0, user: { uid: '2', account: 'b', mode: 0, url: 'rtmp://new' } },
    ]);
    expect(last()).toEqual({});
    health.handle({ source: 'player', uid: '2', code: 2006 });
    health.rosterChanged([{ kind: 'remove', index: 0, uid: '2' }]);
    expect(last()).toEqual({});
  });

  it('counts the encoder restart and the replay per element, and starts afresh with a new URL', () => {
    expect(health.handle({ source: 'pusher', uid: '1', code: -1303 })).toBe('restart');
    expect(health.handle({ source: 'pusher', uid: '1', code: -1304 })).toBe('media-failed');
    expect(health.handle({ source: 'player', uid: '2', code: -2301 })).toBe('replay');
    expect(health.handle({ source: 'player', uid: '3', code: -2301 })).toBe('replay');
    expect(health.handle({ source: 'player', uid: '2', code: -2301 })).toBe('refresh-url');
    expect(health.handle({ source: 'player', uid: '2', code: -2301 })).toBe('replay');
    health.rosterChanged([{ kind: 'pusher', pusher: { uid: '1', account: 'a', url: 'rtmp://fresh' } }]);
    expect(health.handle({ source: 'pusher', uid: '1', code: -1303 })).toBe('restart');
  });

  it('clears everything on reset, and says nothing when there was nothing', () => {
    health.reset();
    expect(hints).toEqual([]);
    health.handle({ source: 'player', uid: '2', code: 2007 });
    health.reset();
    expect(last()).toEqual({});
    expect(hints).toHaveLength(2);
  });
});
