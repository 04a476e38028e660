/**
 * The signalling limits' counters on a hand-driven clock: the token bucket's burst and refill, and the sliding
 * per-key window (calls per caller→callee pair per minute), including keys named like Object.prototype members.
 */
import { addressKey } from '../../server/address';
import { TokenBucket } from '../../server/signaling/limits';
import { SlidingCounter } from '../../server/store/counter';

describe('TokenBucket', () => {
  it('lets a burst through, refuses past it, and refills at the rate', () => {
    const bucket = new TokenBucket(10, 20, 0);
    const taken = Array.from({ length: 25 }, () => bucket.take(0));
    expect(taken.filter(Boolean)).toHaveLength(20);
    expect(bucket.take(50)).toBe(false); // 50 ms at 10/s is half a token
    expect(bucket.take(100)).toBe(true); // one token after 100 ms
    expect(bucket.take(100)).toBe(false);
    // A long pause refills to the burst, never beyond it.
    expect(Array.from({ length: 25 }, () => bucket.take(60_000)).filter(Boolean)).toHaveLength(20);
  });
});

describe('SlidingCounter', () => {
  it('allows max hits per key in the window, counts keys apart, and forgets hits that left the window', () => {
    const counter = new SlidingCounter(60_000);
    expect([0, 1, 2].map((t) => counter.tryHit('alice\nbob', 3, t))).toEqual([true, true, true]);
    expect(counter.tryHit('alice\nbob', 3, 10)).toBe(false);
    expect(counter.tryHit('alice\ncarol', 3, 10)).toBe(true);
    expect(counter.tryHit('__proto__', 1, 10)).toBe(true);
    expect(counter.tryHit('constructor', 1, 10)).toBe(true);
    expect(counter.tryHit('constructor', 1, 11)).toBe(false);
    // At t=60000 the first hit (t=0) has left the window, the others (t=1, 2) have not: one slot frees.
    expect(counter.tryHit('alice\nbob', 3, 60_000)).toBe(true);
    expect(counter.tryHit('alice\nbob', 3, 60_000)).toBe(false);
  });

  it('keeps memory bounded by the keys still counting', () => {
    const counter = new SlidingCounter(1000);
    for (let i = 0; i < 5000; i++) counter.tryHit(`k${i}`, 1, i * 10);
    // Every key older than the window was pruned along the way.
    expect((counter as unknown as { hits: Map<string, number[]> }).hits.size).toBeLessThan(2100);
  });
});

describe('addressKey', () => {
  it('counts an IPv4 client (also IPv4-mapped) by its address and an IPv6 client by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    // The same /64, written compressed and with other interface ids: one key.
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:0:0:0:ffff')).toBe('2001:db8:1:2::/64');
    // Control: another /64 is another key.
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
