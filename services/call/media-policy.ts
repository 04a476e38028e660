/**
 * What a live-pusher / live-player status code means for the call (WeChat's live-pusher and live-player statechange codes). Pure: the session
 * acts on the answer. Unknown codes are info, never fatal: WeChat versions add undocumented ones.
 */
export type MediaAction = 'none' | 'background' | 'restart' | 'replay' | 'refresh-url' | 'camera-unavailable';

export interface MediaStateEvent {
  source: 'pusher' | 'player';
  /** The uid the element is bound to (for the pusher: my own). */
  uid: string;
  code: number;
}

/** `failures`: how many times this player already failed and was replayed in this call. */
export function classifyMediaCode(event: MediaStateEvent, failures = 0): MediaAction {
  const { source, code } = event;
  // 3004: the RTMP server closed the connection: the signed URL was refused or expired; retrying it won't help.
  if (code === 3004) return 'refresh-url';
  if (source === 'pusher') {
    if (code === 5000 || code === 5001) return 'background';
    // -1307: the engine gave up reconnecting and asks the app to restart the push.
    if (code === -1307) return 'restart';
    // -1301: the camera could not be opened (another app holds it, or it is broken): go on with audio.
    if (code === -1301) return 'camera-unavailable';
    return 'none';
  }
  // -2301: the player gave up; replay once, and if it fails again the URL may be stale: ask for a fresh one.
  if (code === -2301) return failures === 0 ? 'replay' : 'refresh-url';
  if (code === -2302) return 'refresh-url';
  return 'none';
}
