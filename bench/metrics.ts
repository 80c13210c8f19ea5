// Requests an app has answered so far, from its Prometheus /metrics (http_requests_total), so a run can say how
// many upstream requests each listing cost. NaN when the app has no such counter.

const IGNORED_ROUTES = new Set(["/metrics", "/health", "/ready"]);

export async function requestsAnswered(appUrl: string): Promise<number> {
  try {
    const res = await fetch(`${appUrl}/metrics`);
    if (!res.ok) return Number.NaN;
    let total = 0;
    let seen = false;
    for (const line of (await res.text()).split("\n")) {
      if (!line.startsWith("http_requests_total{")) continue;
      const route = /route="([^"]*)"/.exec(line)?.[1] ?? "";
      if (IGNORED_ROUTES.has(route)) continue;
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
      seen = true;
    }
    return seen ? total : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// ---- Prometheus histograms read back from /metrics, for the scenarios that say where time went (8, 9) ----

/** One histogram series of one app: cumulative buckets [le seconds, count], sum and count. */
export type Series = { app: string; name: string; labels: Record<string, string>; buckets: [number, number][]; sum: number; count: number };
export type Scrape = Map<string, Series>;

/** Every histogram series in a /metrics text, keyed by app, name and labels (le folded into the buckets). */
export function parseHistograms(app: string, text: string, into: Scrape = new Map()): Scrape {
  const get = (name: string, labels: Record<string, string>) => {
    const key = `${app} ${name} ${JSON.stringify(labels)}`;
    let s = into.get(key);
    if (!s) into.set(key, (s = { app, name, labels, buckets: [], sum: 0, count: 0 }));
    return s;
  };
  for (const line of text.split("\n")) {
    const m = /^(\w+)_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[3]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    const le = labels.le;
    delete labels.le;
    const s = get(m[1]!, labels);
    const value = Number(m[4]);
    if (m[2] === "bucket") s.buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value]);
    else if (m[2] === "sum") s.sum = value;
    else s.count = value;
  }
  return into;
}

/** What a series gained between two scrapes. */
export function delta(after: Series, before: Series | undefined): Series {
  if (!before) return after;
  const was = new Map(before.buckets);
  return { ...after, buckets: after.buckets.map(([le, c]) => [le, c - (was.get(le) ?? 0)]), sum: after.sum - before.sum, count: after.count - before.count };
}

/** Series of one histogram added together (e.g. the same route's several statuses). */
export function merge(series: Series[]): Series {
  const buckets = new Map<number, number>();
  for (const s of series) for (const [le, c] of s.buckets) buckets.set(le, (buckets.get(le) ?? 0) + c);
  return {
    ...series[0]!,
    buckets: [...buckets].sort((a, b) => a[0] - b[0]),
    sum: series.reduce((a, s) => a + s.sum, 0),
    count: series.reduce((a, s) => a + s.count, 0),
  };
}

/** histogram_quantile's estimate, in seconds: linear within the bucket the rank falls in; its lower edge when that is +Inf. */
export function quantile(s: Series, q: number): number {
  if (s.count <= 0) return Number.NaN;
  const rank = q * s.count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of s.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, cumulative - below);
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}
