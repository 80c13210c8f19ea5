// Latency per upstream for the status page, estimated from the bff_upstream_request_duration_seconds histogram
// (every outcome counted, since the process started; the web app samples it over time for recent values).
// The shared Histogram keeps its counts private, so they are read back from its own exposition text, the
// same numbers a Prometheus scrape sees.
import type { Histogram } from "@storefront/shared/observability/metrics";

export type LatencySummary = { p50: number | null; p99: number | null; count: number };

type Buckets = Map<number, number>; // upper bound in seconds (Infinity for +Inf) -> cumulative count

/** Cumulative bucket counts per upstream, the outcomes added together. */
export function bucketsByUpstream(histogram: Histogram): Map<string, Buckets> {
  const byUpstream = new Map<string, Buckets>();
  const line = new RegExp(`^${histogram.name}_bucket\\{upstream="([^"]*)",outcome="[^"]*",le="([^"]+)"\\} (\\d+)$`);
  for (const text of histogram.render().split("\n")) {
    const match = line.exec(text);
    if (!match) continue;
    const [, upstream, le, count] = match;
    const bound = le === "+Inf" ? Infinity : Number(le);
    const buckets = byUpstream.get(upstream!) ?? new Map<number, number>();
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(count));
    byUpstream.set(upstream!, buckets);
  }
  return byUpstream;
}

/**
 * The q-quantile in ms, interpolated linearly inside its bucket as Prometheus's histogram_quantile does; past
 * the last finite bound it is that bound (the histogram cannot say more). Null without observations.
 */
export function quantileMs(buckets: Buckets, q: number): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const cumulative = buckets.get(bound)!;
    if (cumulative >= rank && cumulative > below) {
      if (bound === Infinity) return Math.round(lower * 1000 * 10) / 10;
      const seconds = lower + ((bound - lower) * (rank - below)) / (cumulative - below);
      return Math.round(seconds * 1000 * 10) / 10;
    }
    lower = bound;
    below = cumulative;
  }
  return Math.round(lower * 1000 * 10) / 10;
}

export function latencyOf(buckets: Buckets | undefined): LatencySummary {
  if (!buckets) return { p50: null, p99: null, count: 0 };
  return { p50: quantileMs(buckets, 0.5), p99: quantileMs(buckets, 0.99), count: buckets.get(Infinity) ?? 0 };
}
