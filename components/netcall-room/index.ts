/**
 * netcall-room: lays out my pusher and the remote players. 1:1 first: the first remote user fills the
 * room and my pusher floats as picture-in-picture; further users get small tiles.
 * Its data holds only `{uid}` per player: URLs are bound inside each tile, and a joiner is added by path
 * (`players[2]`), so the list is never resent for an add or a URL change. Events of the tiles come out
 * as room events tagged with their source and uid.
 */
import { comparer } from 'mobx-miniprogram';
import { callStore } from '../../services/stores';
import { netcallComponent, watchStore } from '../common/component';

interface PlayerItem {
  uid: string;
}

netcallComponent({
  data: {
    players: [] as PlayerItem[],
  },
  lifetimes: {
    attached() {
      watchStore(
        this,
        'players',
        () => callStore.players.map((user) => user.uid),
        (uids) => this.showPlayers(uids),
        // URL updates keep the uid list equal: they must not reach the room at all.
        { equals: comparer.structural },
      );
    },
  },
  methods: {
    showPlayers(uids: string[]) {
      const shown = this.data.players;
      const appended = uids.length >= shown.length && shown.every((item, index) => item.uid === uids[index]);
      if (!appended) {
        // A removal shifts the tiles after it; WXML has no splice, and a list of uids is small.
        this.setData({ players: uids.map((uid) => ({ uid })) });
        return;
      }
      if (uids.length === shown.length) return;
      const patch: Record<string, PlayerItem> = {};
      for (let index = shown.length; index < uids.length; index++)
        patch[`players[${index}]`] = { uid: uids[index] };
      this.setData(patch);
    },
    forward(name: string, source: 'pusher' | 'player', event: WechatMiniprogram.CustomEvent) {
      const uid =
        source === 'pusher'
          ? (callStore.pusher?.uid ?? '')
          : String((event.currentTarget.dataset as { uid?: string }).uid ?? '');
      this.triggerEvent(name, { source, uid, ...(event.detail as object) });
    },
    onPusherStateChange(event: WechatMiniprogram.CustomEvent) {
      this.forward('statechange', 'pusher', event);
    },
    onPusherNetStatus(event: WechatMiniprogram.CustomEvent) {
      this.forward('netstatus', 'pusher', event);
    },
    onPusherError(event: WechatMiniprogram.CustomEvent) {
      this.forward('error', 'pusher', event);
    },
    onPlayerStateChange(event: WechatMiniprogram.CustomEvent) {
      this.forward('statechange', 'player', event);
    },
    onPlayerNetStatus(event: WechatMiniprogram.CustomEvent) {
      this.forward('netstatus', 'player', event);
    },
    onPlayerError(event: WechatMiniprogram.CustomEvent) {
      this.forward('error', 'player', event);
    },
  },
});
