/**
 * Waiting for something to happen, bounded. Never for deciding that something did not happen: that needs an
 * event that proves everything before it arrived (a reply on the same socket, an idle delivery queue).
 */

/** Resolves once `condition` holds, checked every `everyMs`; rejects after `timeoutMs`, saying what it waited for. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
