/** @jest-environment node */
/**
 * Protocol fuzz against the server run as its own process: generated frames, every one wrong by construction
 * (frames.ts), go pipelined over connections that are logged in and connections that never are. The oracle is
 * exact (model.ts, oracle.ts): each frame gets exactly one answer, in order, by its seq or as an `error` event,
 * with the refusal code the rules give, never 200; a frame that must close its socket closes it with the
 * rules' code. Proves that bad input changes nothing (the /healthz counts come back to where they were; an
 * answered call with RTC running beside the fuzzing carries on, its history untouched) and crashes nothing
 * (the process lives, its media plane never restarted). A second phase sends the same kinds of frames under
 * the default rate limit: 429s take some answers' places, one for one and in order.
 *
 * FUZZ_FRAMES sets the number of frames (default 10,000; `npm run fuzz` sends 100,000) and FUZZ_SEED the seed;
 * a failure names both and a FUZZ_PATH that replays just the failing batch.
 */
import fc from 'fast-check';
import { mintToken } from '../../server/index';
import { DEFAULT_LIMITS } from '../../server/signaling/limits';
import { CLI_TEST_TIMEOUT_MS, startCli, stopAllClis, type RunningCli } from '../helpers/cli';
import {
  TEST_MEDIA_SECRET,
  TEST_SECRET,
  callBeside,
  closeClients,
  fetchCalls,
  fetchCounts,
  type ServerCounts,
} from '../helpers/server';
import { eventuallyValue } from '../helpers/wait';
import { FRAME_KINDS, fuzzFrames, type FuzzWorld } from './frames';
import { Lane } from './lanes';
import { expectation, type FuzzFrame, type LaneKind } from './model';
import { checkBatch, checkRateLimited } from './oracle';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
if (!Number.isSafeInteger(FRAMES) || FRAMES < 1 || !Number.isSafeInteger(SEED))
  throw new Error(`FUZZ_FRAMES must be a positive integer and FUZZ_SEED an integer`);
const PATH = process.env.FUZZ_PATH;
/** Frames per property run, spread over the lanes; large enough to pipeline, small enough to report. */
const BATCH = 400;
const RUNS = Math.ceil(FRAMES / BATCH);
const METRICS_TOKEN = 'fuzz-metrics-token-0123456789-abcdef';
const ENV = {
  NETCALL_SECRET: TEST_SECRET,
  NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET,
  NETCALL_METRICS_TOKEN: METRICS_TOKEN,
};
const SELF = `fuzz-self-${process.pid}`;

/**
 * Fixed seed, no shrinking (each retry would replay a whole batch against the server), and a report that names
 * the seed, the failing batch and the frame the oracle refused instead of printing hundreds of frames.
 */
function fuzzOptions<T>(numRuns: number): fc.Parameters<T> {
  return {
    seed: SEED,
    numRuns,
    endOnFailure: true,
    ...(PATH ? { path: PATH } : {}),
    reporter: (run) => {
      if (!run.failed) return;
      const cause =
        run.errorInstance instanceof Error ? run.errorInstance.message : String(run.errorInstance);
      throw new Error(
        `protocol fuzz failed in batch ${run.numRuns}; replay with FUZZ_SEED=${run.seed} FUZZ_PATH=${run.counterexamplePath}\n${cause}`,
      );
    },
  };
}

const token = (account: string) => mintToken(TEST_SECRET, account, 3600);

/** The counts once the server's connection count is back to `connections` (it sees closes a moment late). */
async function settledCounts(cli: RunningCli, connections: number): Promise<ServerCounts> {
  let last: ServerCounts | undefined;
  return eventuallyValue(
    async () => {
      last = await fetchCounts(cli, METRICS_TOKEN);
      return last.connections === connections ? last : undefined;
    },
    () => `${connections} connections; last counts ${JSON.stringify(last)}`,
    10_000,
    50,
  );
}

const alive = (cli: RunningCli) => cli.child.exitCode === null && cli.child.signalCode === null;

/** Frames go to the lanes that may take them, in turn; each lane's share splits after every closing frame. */
function plan(lanes: Lane[], frames: FuzzFrame[]): Map<Lane, { frames: FuzzFrame[]; closes: boolean }[]> {
  let turn = 0;
  const shares = new Map<Lane, FuzzFrame[]>(lanes.map((lane) => [lane, []]));
  for (const frame of frames) {
    const fits = lanes.filter((lane) => frame.code[lane.kind] !== undefined);
    shares.get(fits[turn++ % fits.length])!.push(frame);
  }
  const segments = new Map<Lane, { frames: FuzzFrame[]; closes: boolean }[]>();
  for (const [lane, share] of shares) {
    const list: { frames: FuzzFrame[]; closes: boolean }[] = [{ frames: [], closes: false }];
    for (const frame of share) {
      list[list.length - 1].frames.push(frame);
      if (expectation(frame, lane.kind).close !== null) {
        list[list.length - 1].closes = true;
        list.push({ frames: [], closes: false });
      }
    }
    segments.set(
      lane,
      list.filter((segment) => segment.frames.length > 0),
    );
  }
  return segments;
}

/** Runs every lane to its end, then reports each lane that failed, and the process too if it died. */
async function allLanes(
  server: RunningCli,
  lanes: Lane[],
  work: (lane: Lane) => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled(lanes.map(work));
  const failures = results.flatMap((result) =>
    result.status === 'rejected'
      ? [result.reason instanceof Error ? result.reason.message : String(result.reason)]
      : [],
  );
  if (failures.length === 0) return;
  // Sockets report a dead server before the exit reaches us: give the exit a moment to arrive.
  await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
  if (!alive(server))
    failures.push(
      `the server process exited (code ${server.child.exitCode}, signal ${server.child.signalCode}); ` +
        `its last output:\n${server.output().slice(-2000)}`,
    );
  throw new Error(failures.join('\n'));
}

describe('the signalling protocol under fuzzing', () => {
  let cli: RunningCli | undefined;
  let limited: RunningCli | undefined;
  afterEach(closeClients);

  beforeAll(async () => {
    [cli, limited] = await Promise.all([
      // Rate limit out of the way so frames reach validation; heartbeat long so guests outlive a full run.
      startCli(
        [
          '--max-requests-per-second',
          '100000000',
          '--request-burst',
          '100000000',
          '--heartbeat-ms',
          '600000',
        ],
        ENV,
      ),
      startCli([], ENV),
    ]);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    try {
      const codes = await Promise.all([cli?.stop(), limited?.stop()]);
      expect(codes).toEqual([0, 0]);
    } finally {
      await stopAllClis();
    }
  }, 30_000);

  it(
    `refuses ${FRAMES} wrong frames one answer each, in order, with the rules' codes; changes nothing; lives`,
    async () => {
      const server = cli!;
      console.log(
        `protocol fuzz: FUZZ_SEED=${SEED} FUZZ_FRAMES=${FRAMES}${PATH ? ` FUZZ_PATH=${PATH}` : ''}`,
      );
      const beside = await callBeside(server, String(process.pid));
      const world: FuzzWorld = {
        secret: TEST_SECRET,
        self: SELF,
        taken: { accounts: new Set([SELF, ...beside.accounts]), cids: new Set([beside.cid]) },
      };
      const historyBefore = await Promise.all(beside.accounts.map((account) => fetchCalls(server, account)));
      const before = await fetchCounts(server, METRICS_TOKEN);
      const lanes = [
        new Lane('guest-1', 'guest', server.url),
        new Lane('guest-2', 'guest', server.url),
        new Lane('member-1', 'member', server.url, () => token(SELF)),
        new Lane('member-2', 'member', server.url, () => token(SELF)),
      ];
      const seen = new Map<string, number>();
      const closes = new Map<number, number>();
      let sent = 0;

      await fc.assert(
        fc.asyncProperty(
          fc.array(fuzzFrames(world), { minLength: BATCH, maxLength: BATCH }),
          async (frames) => {
            const segments = plan(lanes, frames);
            await allLanes(server, lanes, async (lane) => {
              for (const segment of segments.get(lane)!) {
                const outcome = await lane.play(segment.frames, segment.closes);
                checkBatch(lane.kind, lane.name, segment.frames, outcome);
                if (outcome.close !== null) closes.set(outcome.close, (closes.get(outcome.close) ?? 0) + 1);
              }
            });
            for (const frame of frames) seen.set(frame.kind, (seen.get(frame.kind) ?? 0) + 1);
            sent += frames.length;
          },
        ),
        fuzzOptions(RUNS),
      );
      await Promise.all(lanes.map((lane) => lane.close()));

      console.log(
        `protocol fuzz: ${sent} frames, ${lanes.reduce((n, lane) => n + lane.opened, 0)} sockets, ` +
          `closes ${JSON.stringify(Object.fromEntries(closes))}, kinds ${JSON.stringify(Object.fromEntries(seen))}`,
      );
      expect(sent).toBeGreaterThanOrEqual(PATH ? BATCH : FRAMES);
      if (!PATH) {
        // Every kind of frame and every closing rule was exercised, or the fuzzer proved less than it claims.
        expect(FRAME_KINDS.filter((kind) => !seen.has(kind))).toEqual([]);
        expect([...closes.keys()].sort((a, b) => a - b)).toEqual([1007, 1009, 4401]);
      }

      const after = await settledCounts(server, before.connections);
      expect(after).toEqual(before);
      expect(after.mediaRestarts).toBe(0);
      await beside.stillWorks();
      expect(await Promise.all(beside.accounts.map((account) => fetchCalls(server, account)))).toEqual(
        historyBefore,
      );
      expect(alive(server)).toBe(true);
    },
    120_000 + FRAMES * 4,
  );

  it('answers each frame with its own answer or a 429 in its place, in order, under the default rate limit', async () => {
    const server = limited!;
    const world: FuzzWorld = {
      secret: TEST_SECRET,
      self: SELF,
      taken: { accounts: new Set([SELF]), cids: new Set() },
    };
    const before = await fetchCounts(server, METRICS_TOKEN);
    const staysOpen = (kind: LaneKind) =>
      fuzzFrames(world).filter(
        (frame) => frame.code[kind] !== undefined && expectation(frame, kind).close === null,
      );
    // Twice the burst at once: some must be refused, and a connection may be closed for it (4429).
    const many = DEFAULT_LIMITS.requestBurst * 2;
    const lanes = [
      new Lane('limited-guest', 'guest', server.url),
      new Lane('limited-member', 'member', server.url, () => token(SELF)),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(staysOpen('guest'), { minLength: many, maxLength: many }),
        fc.array(staysOpen('member'), { minLength: many, maxLength: many }),
        async (guestFrames, memberFrames) => {
          const refused = new Map<Lane, number>();
          await allLanes(server, lanes, async (lane) => {
            const frames = lane.kind === 'guest' ? guestFrames : memberFrames;
            const outcome = await lane.play(frames, false);
            // A member lane's own login took a token from its bucket before the frames.
            const burst = DEFAULT_LIMITS.requestBurst - (lane.kind === 'member' ? 1 : 0);
            const maxRefused = DEFAULT_LIMITS.maxRequestsPerSecond;
            refused.set(lane, checkRateLimited(lane.kind, lane.name, frames, outcome, { burst, maxRefused }));
          });
          expect(lanes.map((lane) => (refused.get(lane) ?? 0) > 0)).toEqual([true, true]);
        },
      ),
      fuzzOptions(1),
    );
    await Promise.all(lanes.map((lane) => lane.close()));
    const after = await settledCounts(server, before.connections);
    expect(after).toEqual(before);
    expect(alive(server)).toBe(true);
  }, 60_000);
});
