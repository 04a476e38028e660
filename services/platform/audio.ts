/**
 * The ringtone: a looping `InnerAudioContext`. It must sound even with the phone's mute switch on, which is
 * what a call ring is for. `play` and `stop` are idempotent, so a caller can drive them from state changes
 * without tracking what already happened; after `destroy` every call is a no-op.
 */
export interface Ringtone {
  play(): void;
  stop(): void;
  destroy(): void;
}

export function createRingtone(src: string): Ringtone {
  // iOS only, and for all inner audio: since base library 2.3.0 the per-context `obeyMuteSwitch` is ignored.
  wx.setInnerAudioOption({ obeyMuteSwitch: false, fail: () => undefined });
  const context = wx.createInnerAudioContext();
  context.src = src;
  context.loop = true;
  context.autoplay = false;
  // Older base libraries read it per context.
  context.obeyMuteSwitch = false;
  let playing = false;
  let destroyed = false;
  return {
    play() {
      if (destroyed || playing) return;
      playing = true;
      context.play();
    },
    stop() {
      if (destroyed || !playing) return;
      playing = false;
      context.stop();
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      if (playing) context.stop();
      playing = false;
      context.destroy();
    },
  };
}
