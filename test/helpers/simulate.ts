/**
 * Shared helpers for unit and component tests: a fake `NetcallLike` to drive the roster with, wire-shaped
 * users, and a host renderer over miniprogram-simulate (its known pitfalls: load once per file, attach,
 * read bound attributes through `toJSON().attrs`).
 */
import * as path from 'path';
import * as simulate from 'miniprogram-simulate';
import { Emitter } from '../../services/netcall/netcall';
import type { NetcallEvents, NetcallLike } from '../../services/netcall/types';
import type { CallResult, RtcUser, StartRtcResult } from '../../services/protocol';

export const COMPONENTS_ROOT = path.resolve(__dirname, '../../components');

/** Emits whatever the test says, records calls; the real client is tested elsewhere. */
export class FakeNetcall extends Emitter<NetcallEvents> implements NetcallLike {
  readonly calls: Array<{ method: string; args: unknown }> = [];
  startRtcResult: StartRtcResult;

  constructor(
    readonly account = 'alice',
    self: Partial<StartRtcResult> = {},
  ) {
    super();
    this.startRtcResult = { uid: '1', account, cid: 'c1', ...self };
  }

  async call(args: Parameters<NetcallLike['call']>[0]): Promise<CallResult> {
    this.calls.push({ method: 'call', args });
    return { cid: this.startRtcResult.cid, accountUidMap: {} };
  }
  async response(args: Parameters<NetcallLike['response']>[0]): Promise<void> {
    this.calls.push({ method: 'response', args });
  }
  async hangup(args?: Parameters<NetcallLike['hangup']>[0]): Promise<void> {
    this.calls.push({ method: 'hangup', args });
  }
  async startRtc(args: Parameters<NetcallLike['startRtc']>[0]): Promise<StartRtcResult> {
    this.calls.push({ method: 'startRtc', args });
    return this.startRtcResult;
  }
  async control(args: Parameters<NetcallLike['control']>[0]): Promise<void> {
    this.calls.push({ method: 'control', args });
  }
  async createChannel(args: Parameters<NetcallLike['createChannel']>[0]) {
    this.calls.push({ method: 'createChannel', args });
    return { channelName: args.channelName, cid: this.startRtcResult.cid, custom: args.custom ?? '' };
  }
  async joinChannel(args: Parameters<NetcallLike['joinChannel']>[0]) {
    this.calls.push({ method: 'joinChannel', args });
    const { uid, account, cid } = this.startRtcResult;
    return {
      channelName: args.channelName,
      cid,
      uid,
      account,
      custom: '',
      accountUidMap: { [account]: uid },
    };
  }
  async leaveChannel(args?: Parameters<NetcallLike['leaveChannel']>[0]): Promise<void> {
    this.calls.push({ method: 'leaveChannel', args });
  }
  async inviteToCall(args: Parameters<NetcallLike['inviteToCall']>[0]): Promise<void> {
    this.calls.push({ method: 'inviteToCall', args });
  }

  syncDone(userlist: RtcUser[], cid = this.startRtcResult.cid): void {
    this.emit('syncDone', { code: 200, errmsg: '', cid, userlist });
  }
  clientJoin(user: RtcUser, cid = this.startRtcResult.cid): void {
    this.emit('clientJoin', { ...user, cid });
  }
  clientLeave(user: Pick<RtcUser, 'uid' | 'account'>, cid = this.startRtcResult.cid): void {
    this.emit('clientLeave', { cid, uid: user.uid, account: user.account });
  }
  peerHangup(account: string, cid = this.startRtcResult.cid): void {
    this.emit('hangup', { cid, account, timetag: Date.now() });
  }
}

/** A wire user: self entries carry a push URL, others a play URL. */
export function rtcUser(uid: string, account: string, url = `rtmp://media/live/c1_${uid}?sign=1`): RtcUser {
  return { uid, account, mode: 0, url };
}

export type Attrs = Record<string, unknown>;

interface JsonNode {
  tagName: string;
  attrs: Array<{ name: string; value: unknown }>;
  children?: JsonNode[];
}

/** Every node with `tagName` in the rendered tree, nested components included, as attribute maps. */
export function findAttrs(component: { toJSON(): unknown }, tagName: string): Attrs[] {
  const found: Attrs[] = [];
  const walk = (node: JsonNode) => {
    if (node.tagName === tagName)
      found.push(Object.fromEntries(node.attrs.map((attr) => [attr.name, attr.value])));
    node.children?.forEach(walk);
  };
  walk(component.toJSON() as JsonNode);
  return found;
}

export const pusherAttrs = (component: { toJSON(): unknown }): Attrs[] =>
  findAttrs(component, 'wx-live-pusher');
export const playerAttrs = (component: { toJSON(): unknown }): Attrs[] =>
  findAttrs(component, 'wx-live-player');

/** Loads a kit component by folder name, compiling all of `components/` so relative usingComponents work. */
export function loadComponent(name: string): string {
  return simulate.load(path.join(COMPONENTS_ROOT, name, 'index'), { rootPath: COMPONENTS_ROOT });
}

/** j-component types `render(string)` as a plain Component; a root one can also attach and detach. */
export type Host = ReturnType<typeof simulate.render> & { attach(parent: Node): void; detach(): void };

export interface HostOptions {
  usingComponents: Record<string, string>;
  template: string;
  data?: Record<string, unknown>;
  methods?: Record<string, (...args: never[]) => unknown>;
}

/**
 * Registers a host component around the kit's components. Call once per file: loading a path again in the same
 * module registry registers nothing (miniprogram-simulate#25).
 */
export function defineHost(options: HostOptions): string {
  return simulate.load({
    usingComponents: options.usingComponents,
    template: options.template,
    data: options.data ?? {},
    methods: (options.methods ?? {}) as WechatMiniprogram.Component.MethodOption,
  }) as unknown as string;
}

/** Renders and attaches a host; without `attach` no `attached` lifetime (and so no store watcher) runs. */
export function renderHost(hostId: string, properties?: Record<string, unknown>): Host {
  const host = simulate.render(hostId, properties) as Host;
  host.attach(document.createElement('parent-wrapper'));
  return host;
}

/** Counts `setData` calls of a rendered component's instance from now on. */
export function countSetData(component: { instance: unknown }): {
  readonly count: number;
  paths: string[][];
} {
  const instance = component.instance as {
    setData: (data: Record<string, unknown>, cb?: () => void) => void;
  };
  const original = instance.setData;
  const counter = { count: 0, paths: [] as string[][] };
  instance.setData = function (this: unknown, data, callback) {
    counter.count++;
    counter.paths.push(Object.keys(data));
    return original.call(this, data, callback);
  };
  return counter;
}

/**
 * Records what a component emits through `triggerEvent`. Listening on the host is not enough here:
 * simulate dispatches element events as composed and bubbling, so the raw (unthrottled) media event
 * reaches the host too, which WeChat's native elements never do.
 */
export function recordEvents(component: { instance: unknown }): Array<{ name: string; detail: unknown }> {
  const instance = component.instance as {
    triggerEvent: (name: string, detail?: unknown, options?: unknown) => void;
  };
  const original = instance.triggerEvent;
  const events: Array<{ name: string; detail: unknown }> = [];
  instance.triggerEvent = function (this: unknown, name, detail, options) {
    events.push({ name, detail });
    return original.call(this, name, detail, options);
  };
  return events;
}

export { simulate };
