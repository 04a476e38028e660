/**
 * Demo settings. On a phone, 127.0.0.1 is the phone itself: type the dev machine's LAN address on the
 * login page (and tick "do not verify domains" in DevTools / on the device for ws:// to be allowed).
 */
export const DEFAULT_SERVER = 'ws://127.0.0.1:8080';

/** The dev login endpoint shares the signalling port: `ws://host:port/...` → `http://host:port`. */
export function httpBase(server: string): string {
  const match = /^ws(s?):\/\/([^/?#]+)/.exec(server.trim());
  if (!match) throw new Error(`not a ws:// or wss:// address: ${server}`);
  return `http${match[1]}://${match[2]}`;
}
