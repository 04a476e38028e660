/**
 * The echo peer's options and their defaults: what config.ts validates and echo.ts runs with. Kept apart so
 * reading the configuration loads no client, socket or process code.
 */

export interface EchoOptions {
  /** The account to call (default `echo`). */
  account?: string;
  /** How long the echo holds your media back before playing it to you, in ms (default 0, at most 10 000). */
  delayMs?: number;
  /** Calls it answers at once (default 4, at most the server's `maxDevicesPerAccount`); more get `busy`. */
  maxCalls?: number;
}

export type EchoConfig = Required<EchoOptions>;

export const ECHO_DEFAULTS: EchoConfig = { account: 'echo', delayMs: 0, maxCalls: 4 };

/** Longest the echo may hold media back (it also bounds the memory each relay's delay line may use). */
export const MAX_ECHO_DELAY_MS = 10_000;
