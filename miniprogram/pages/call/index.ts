/**
 * Call: one P2P video call, outgoing (ringing, cancel) or incoming (accept, reject), then in call
 * (`netcall-room`, hang up). The media wiring is the kit's: Netcall events → MediaRoster → callStore →
 * components; this page only says who I am once `startRtc` answers (`roster.setSelf`).
 */
import {
  MediaRoster,
  bindRosterToStore,
  callStore,
  type CallType,
  type Netcall,
  type StartRtcResult,
} from 'miniprogram-netcall';
import { globalData, listen, messageOf, toast } from '../../session';

type Phase = 'outgoing' | 'incoming' | 'incall' | 'ended';

/** What this page owns besides `data`; one call page exists at a time. */
interface CallSession {
  netcall: Netcall;
  roster: MediaRoster;
  cid: string;
  cleanup: Array<() => void>;
}

let session: CallSession | null = null;

Page({
  data: {
    phase: 'outgoing' as Phase,
    peer: '',
    type: 2 as CallType,
  },

  onLoad(query: Record<string, string | undefined>) {
    const { netcall } = globalData();
    if (!netcall) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    // The roster must exist before startRtc: syncDone and clientJoin may come right after it.
    const roster = new MediaRoster(netcall);
    const current: CallSession = { netcall, roster, cid: query.cid || '', cleanup: [] };
    session = current;
    const isMine = (cid: string) => current.cid !== '' && cid === current.cid;
    current.cleanup.push(
      bindRosterToStore(roster, callStore),
      listen(netcall, {
        callAccepted: (event) => {
          if (isMine(event.cid)) this.startMedia();
        },
        callRejected: (event) => {
          if (isMine(event.cid)) this.finish(`${event.account} declined`);
        },
        hangup: (event) => {
          if (isMine(event.cid)) this.finish(`${event.account} hung up`);
        },
        callerAckSync: (event) => {
          if (isMine(event.cid)) this.finish('Answered on another device');
        },
        beCalling: (event) => {
          // One call at a time: a second caller is refused rather than left ringing.
          if (!isMine(event.cid))
            netcall
              .response({ accepted: false, caller: event.caller, type: event.type, cid: event.cid })
              .catch(() => undefined);
        },
        disconnect: () => this.finish('Connection lost'),
      }),
      () => roster.dispose(),
      () => callStore.reset(),
    );
    wx.setKeepScreenOn({ keepScreenOn: true });

    if (query.incoming) {
      this.setData({
        phase: 'incoming',
        peer: query.caller || '',
        type: Number(query.type || 2) as CallType,
      });
    } else {
      this.setData({ phase: 'outgoing', peer: query.callee || '' });
      this.dial(query.callee || '');
    }
  },

  onUnload() {
    // Leaving by the back button mid-call must not leave the peer talking to nobody.
    if (session && this.data.phase !== 'ended')
      session.netcall.hangup({ cid: session.cid || undefined }).catch(() => undefined);
    this.release();
  },

  async dial(callee: string) {
    const current = session;
    if (!current) return;
    try {
      const result = await current.netcall.call({ type: 2, callee });
      current.cid = result.cid;
    } catch (error) {
      this.finish(messageOf(error));
    }
  },

  async onAccept() {
    const current = session;
    if (!current || this.data.phase !== 'incoming') return;
    try {
      await current.netcall.response({
        accepted: true,
        caller: this.data.peer,
        type: this.data.type,
        cid: current.cid,
      });
      await this.startMedia();
    } catch (error) {
      this.hangupAndFinish(`Could not answer: ${messageOf(error)}`);
    }
  },

  async onReject() {
    const current = session;
    if (!current) return;
    const { peer, type } = this.data;
    current.netcall
      .response({ accepted: false, caller: peer, type, cid: current.cid })
      .catch(() => undefined);
    this.finish();
  },

  onCancel() {
    this.hangupAndFinish();
  },

  onHangup() {
    this.hangupAndFinish();
  },

  async startMedia() {
    const current = session;
    if (!current || this.data.phase === 'incall' || this.data.phase === 'ended') return;
    this.setData({ phase: 'incall' });
    try {
      const result: StartRtcResult = await current.netcall.startRtc({ mode: 0, cid: current.cid });
      current.roster.setSelf(result);
    } catch (error) {
      this.hangupAndFinish(`Media failed: ${messageOf(error)}`);
    }
  },

  onRoomError(event: WechatMiniprogram.CustomEvent<{ source: string; errCode?: number }>) {
    const { errCode } = event.detail;
    if (errCode === 10001 || errCode === 10002) {
      // Settings can only be opened from a tap: the modal's button is one.
      wx.showModal({
        title: 'Camera and microphone',
        content: 'A video call needs both. Allow them in the settings.',
        confirmText: 'Settings',
        success: ({ confirm }) => {
          if (confirm) wx.openSetting({});
        },
      });
    }
  },

  hangupAndFinish(message?: string) {
    const current = session;
    if (current) {
      current.netcall.hangup({ cid: current.cid || undefined }).catch(() => undefined);
      // The server does not echo my own hangup: clear the media view here.
      current.roster.clear();
    }
    this.finish(message);
  },

  /** The call is over for whatever reason: say why, then back to dial. */
  finish(message?: string) {
    if (this.data.phase === 'ended') return;
    this.setData({ phase: 'ended' });
    this.release();
    if (message) toast(message);
    setTimeout(
      () =>
        wx.navigateBack({
          fail: () => wx.reLaunch({ url: '/pages/dial/index' }),
        }),
      message ? 1500 : 0,
    );
  },

  release() {
    const current = session;
    if (!current) return;
    session = null;
    wx.setKeepScreenOn({ keepScreenOn: false });
    for (const cleanup of current.cleanup) cleanup();
  },
});
