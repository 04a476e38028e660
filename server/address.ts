/**
 * Who a connection is, for the per-address caps of signalling and media: the socket's peer, or the hop a
 * trusted proxy appended; and the key a cap counts by (an IPv6 client controls a whole /64: counted as one).
 */
import { isIPv4, isIPv6 } from 'net';
import type { IncomingMessage } from 'http';

/** The client's address: the socket's peer, or the last hop a trusted reverse proxy appended. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return peer;
  const forwarded = req.headers['x-forwarded-for'];
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',');
  // The rightmost entry is the one our proxy wrote; anything left of it came from the client and can be forged.
  const last = list[list.length - 1]?.trim();
  return last || peer;
}

/** What the per-address cap counts: an IPv4 address (also when IPv4-mapped), or an IPv6 /64. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
