/**
 * Every state of the call screen the gallery shows and the screenshot test checks: a snapshot for the session
 * store, the media the roster would hold (my push URL, remote play URLs) and the tile hints. One list, so the
 * README gallery, `npm run screenshots` and the test can never disagree about what "every state" means.
 */
import { idleSnapshot } from '../../services/call/session';
import type { CallSnapshot } from '../../services/call/types';
import type { RtcUser } from '../../services/protocol';

export interface ScreenState {
  /** File name stem and gallery key. */
  name: string;
  /** What the gallery says about it. */
  title: string;
  snapshot: Partial<CallSnapshot>;
  /** My push URL, if the roster holds one. */
  pusher?: boolean;
  /** Remote users by uid (play URLs are made up). */
  players?: string[];
}

const local = idleSnapshot().local;
const peer = { peer: 'Li Lei', cid: 'c1', direction: 'outgoing' as const };
const video: Partial<CallSnapshot> = { ...peer, type: 2, local: { ...local, soundMode: 'speaker' } };
const voice: Partial<CallSnapshot> = {
  ...peer,
  type: 1,
  local: { ...local, cameraOn: false, soundMode: 'ear' },
};
const inVideo: Partial<CallSnapshot> = { ...video, phase: 'in-call', duration: 83 };
const inVoice: Partial<CallSnapshot> = { ...voice, phase: 'in-call', duration: 312 };
const media = { pusher: true, players: ['2'] };

export const SELF_UID = '1';

export const STATES: readonly ScreenState[] = [
  {
    name: 'dialing-video',
    title: 'Dialing a video call: my camera, the callee on top',
    snapshot: { ...video, phase: 'dialing' },
  },
  { name: 'dialing-voice', title: 'Dialing a voice call', snapshot: { ...voice, phase: 'dialing' } },
  {
    name: 'incoming-video',
    title: 'Incoming video call: badge, answer as voice',
    snapshot: { ...video, direction: 'incoming', phase: 'incoming' },
  },
  {
    name: 'incoming-voice',
    title: 'Incoming voice call',
    snapshot: { ...voice, direction: 'incoming', phase: 'incoming' },
  },
  {
    name: 'connecting-video',
    title: 'Connecting a video call',
    snapshot: { ...video, phase: 'connecting' },
    pusher: true,
  },
  { name: 'in-call-video', title: 'In a video call', snapshot: inVideo, ...media },
  {
    name: 'in-call-video-toggles',
    title: 'Mic and camera off, speaker off: the toggles show it',
    snapshot: { ...inVideo, local: { ...local, micOn: false, cameraOn: false, soundMode: 'ear' } },
    ...media,
  },
  {
    name: 'in-call-video-peer-camera-off',
    title: "The peer's camera is off: their picture, not a black box",
    snapshot: {
      ...inVideo,
      peerState: { micOn: false, cameraOn: false, cameraUnavailable: false, background: false },
    },
    ...media,
  },
  { name: 'in-call-voice', title: 'In a voice call', snapshot: inVoice, ...media },
  {
    name: 'reconnecting',
    title: 'Signalling reconnecting: a pill that covers nothing',
    snapshot: { ...inVideo, reconnecting: true },
    ...media,
  },
  {
    name: 'hints',
    title: 'Per-tile hints: my poor network, the peer buffering',
    snapshot: { ...inVideo, hints: { [SELF_UID]: 'poor-network', '2': 'buffering' } },
    ...media,
  },
  {
    name: 'video-paused',
    title: 'The peer stopped publishing: "video paused" on their tile',
    snapshot: { ...inVideo, hints: { '2': 'video-paused' } },
    ...media,
  },
  {
    name: 'second-tile',
    title: 'A second remote tile, clear of the name and timer',
    snapshot: inVideo,
    pusher: true,
    players: ['2', '3'],
  },
  {
    name: 'switch-asked',
    title: 'The peer asks to switch a voice call to video',
    snapshot: { ...inVoice, switchRequest: { from: 'peer', to: 2 } },
    ...media,
  },
  {
    name: 'switch-pending',
    title: 'My switch request waits for the peer',
    snapshot: { ...inVoice, switchRequest: { from: 'me', to: 2 } },
    ...media,
  },
  {
    name: 'ended',
    title: 'Ended: the reason and the duration',
    snapshot: { ...voice, phase: 'ended', reason: 'remote-hangup', duration: 312 },
  },
  {
    name: 'ended-permission',
    title: 'Ended for a refused camera: open settings',
    snapshot: { ...video, phase: 'ended', reason: 'permission-denied', deniedScope: 'scope.camera' },
  },
];

/** A wire user for `uid`: my own entry carries a push URL, the others a play URL. */
export function rtcUser(uid: string, account: string): RtcUser {
  return { uid, account, mode: 0, url: `rtmp://media.example/live/c1_${uid}?sign=screenshot` };
}
