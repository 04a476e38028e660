/**
 * CallSession parties for integration tests: a recording `Netcall` over a ws socket the test can cut abnormally,
 * a CallSession with permissions granted, and every callEnded record kept.
 */
import { CallSession, type CallRecord, type CallSessionOptions, type EndReason } from '../../services/call';
import type { NetcallOptions } from '../../services/netcall';
import { createClient, type SignallingAt, type TestClient } from './server';
import { cuttableSockets } from './ws-socket';

export interface Party {
  netcall: TestClient;
  session: CallSession;
  records: CallRecord[];
  cut(): void;
}

export const parties: Party[] = [];
let counter = 0;

/**
 * A connected party of `account`. It reconnects quickly and gives up soon (50 ms, 3 attempts) unless
 * `netcallOptions` says otherwise.
 */
export async function party(
  at: SignallingAt,
  account: string,
  options: Partial<CallSessionOptions> = {},
  netcallOptions: Partial<NetcallOptions> = {},
): Promise<Party> {
  const sockets = cuttableSockets();
  const netcall = createClient(at, account, {
    connectSocket: sockets.connectSocket,
    reconnectDelay: 50,
    maxReconnects: 3,
    ...netcallOptions,
  });
  await netcall.connect();
  const session = new CallSession({ netcall, checkPermissions: async () => ({ granted: true }), ...options });
  const records: CallRecord[] = [];
  session.on('callEnded', (record) => records.push(record));
  const p = { netcall, session, records, cut: sockets.cut };
  parties.push(p);
  return p;
}

export function until(
  p: Party,
  check: (s: CallSession) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  if (check(p.session)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.session.off('change', listener);
      reject(
        new Error(`${p.netcall.account}: not ${what} within ${timeoutMs} ms (phase ${p.session.phase})`),
      );
    }, timeoutMs);
    const listener = () => {
      if (!check(p.session)) return;
      clearTimeout(timer);
      p.session.off('change', listener);
      resolve();
    };
    p.session.on('change', listener);
  });
}

export const phase = (p: Party, name: string) => until(p, (s) => s.phase === name, name);
export const ended = async (p: Party, reason: EndReason) => {
  await phase(p, 'ended');
  expect(p.session.snapshot().reason).toBe(reason);
  expect(p.records).toHaveLength(1);
  expect(p.records[0].reason).toBe(reason);
};

export function names(...prefixes: string[]): string[] {
  counter++;
  return prefixes.map((p) => `${p}${counter}`);
}

export async function inCall(a: Party, b: Party, type: 1 | 2 = 2): Promise<void> {
  await a.session.call(b.netcall.account, type);
  await phase(b, 'incoming');
  await b.session.accept();
  await Promise.all([phase(a, 'in-call'), phase(b, 'in-call')]);
}

export async function disposeParties(): Promise<void> {
  for (const p of parties.splice(0)) {
    await p.session.dispose();
    p.netcall.close();
  }
}
