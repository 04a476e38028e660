/**
 * Small value helpers shared by both sides of the media plane: a record guard for untrusted input, and the
 * one way a client-sent value or an error goes into a log line.
 *
 * Owns: how much of a foreign value a log line may carry. It must never recurse into a value (a client's AMF
 * or header can be nested or huge, and logging must not throw or grow with it).
 */

/** Enough to recognise what was sent; a client controls these values and must not size our log lines. */
const MAX_QUOTED = 64;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clip(text: string, max = MAX_QUOTED): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A client-sent value for a log line: strings quoted and clipped, containers named, never walked. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return clip(JSON.stringify(value));
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : clip(String(value));
}

/** An error for a log line: its name and message, clipped (messages can quote what a client sent). */
export function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return clip(text, 200);
}
