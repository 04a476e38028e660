/**
 * `GET /metrics` read as Prometheus text exposition (0.0.4), as prom-client writes it, rather than matched as
 * substrings: name, labels, value, and each family's `# TYPE`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
}

/** Prometheus text exposition (0.0.4), as prom-client writes it: one sample a line, label values escaped. */
export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

/** The samples of `name` whose labels include `labels`. */
export const find = (scrape: Scrape, name: string, labels: Record<string, string> = {}): Sample[] =>
  scrape.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );

/** The one sample of `name` with exactly these labels; fails when there is none or more than one. */
export function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const matches = find(scrape, name, labels).filter(
    (s) => Object.keys(s.labels).length === Object.keys(labels).length,
  );
  if (matches.length !== 1)
    throw new Error(`${matches.length} samples of ${name}${JSON.stringify(labels)}, expected one`);
  return matches[0].value;
}

/** The metrics of a server, with its metrics token; fails unless the scrape answers 200. */
export async function scrapeMetrics(at: { httpUrl: string }, token: string): Promise<Scrape> {
  const res = await fetch(`${at.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}
