/**
 * Waiting for something to happen, bounded. Never for deciding that something did not happen: that needs an
 * event that proves everything before it arrived (a reply on the same socket, an idle delivery queue).
 */

/** What a wait is for; a function is asked only when the wait gives up, so it can describe the state then. */
export type WaitingFor = string | (() => string);

/**
 * Resolves with the first value other than `undefined` that `probe` produces, asked every `everyMs`; rejects
 * after `timeoutMs`, saying what it waited for. An error `probe` throws ends the wait with that error.
 */
export async function eventuallyValue<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: WaitingFor,
  timeoutMs = 5000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Resolves once `condition` holds, checked every `everyMs`; rejects after `timeoutMs`, saying what it waited for. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: WaitingFor,
  timeoutMs = 5000,
  everyMs = 10,
): Promise<void> {
  await eventuallyValue(async () => ((await condition()) ? true : undefined), what, timeoutMs, everyMs);
}
