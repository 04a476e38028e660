/**
 * Media element contexts. Components get them here instead of calling `wx` themselves, so the one-way
 * dependency rule holds and tests can spy on a single place.
 */
export function createPusherContext(): WechatMiniprogram.LivePusherContext {
  // The current API takes no arguments and binds to the page's only <live-pusher>.
  return wx.createLivePusherContext();
}

export function createPlayerContext(
  id: string,
  component: WechatMiniprogram.Component.TrivialInstance,
): WechatMiniprogram.LivePlayerContext {
  // Players live inside our components, so the component must be passed or the context never reaches them.
  return wx.createLivePlayerContext(id, component);
}
