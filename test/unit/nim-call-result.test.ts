/** @jest-environment node */
/**
 * What NimNetcall's call() accepts from the SDK: SDK77's bare account → uid map, and `{accountUidMap}` from
 * earlier builds; anything else is refused, and the call the SDK already placed is hung up rather than left
 * ringing (the callee would ring on, and the next call() would be refused as "already in a call").
 */
import { NimNetcall } from '../../services/netcall/nim-netcall';
import type { NimCallResult } from '../../typings/nim-netcall';
import { NimCloud } from '../helpers/nim-standin';
import { record } from '../helpers/recorder';

function pair(reshape?: (map: Record<string, number>) => unknown) {
  const cloud = new NimCloud();
  const sdk = cloud.connect('alice');
  if (reshape) {
    const call = sdk.call.bind(sdk);
    sdk.call = (options) =>
      call(options).then((map) => reshape(map as Record<string, number>) as NimCallResult);
  }
  const alice = new NimNetcall({ sdk, account: 'alice' });
  const bob = record(new NimNetcall({ sdk: cloud.connect('bob'), account: 'bob' }));
  return { alice, bob };
}

describe('NimNetcall call() result', () => {
  it.each([
    ['the bare map (SDK77)', undefined],
    ['{accountUidMap} (earlier builds)', (map: Record<string, number>) => ({ accountUidMap: map })],
  ])('takes %s and names both uids as strings', async (_shape, reshape) => {
    const { alice, bob } = pair(reshape);
    const { cid, accountUidMap } = await alice.call({ type: 2, callee: 'bob' });
    expect(typeof cid).toBe('string');
    expect(Object.keys(accountUidMap).sort()).toEqual(['alice', 'bob']);
    expect(Object.values(accountUidMap).every((uid) => typeof uid === 'string')).toBe(true);
    expect(await bob.next('beCalling')).toMatchObject({ caller: 'alice', cid });
  });

  it('refuses a result with no uid map with 500, and hangs up the call it placed', async () => {
    const { alice, bob } = pair(() => ({}));
    await expect(alice.call({ type: 2, callee: 'bob' })).rejects.toMatchObject({
      code: 500,
      message: expect.stringContaining('uid map'),
    });
    const ringing = await bob.next('beCalling');
    expect(await bob.next('hangup')).toMatchObject({ cid: ringing.cid, account: 'alice' });
  });
});
