// Recent latency per upstream, for the status page's sparklines: a small ring buffer per upstream name, kept
// in memory by the web app (one per createApp). The BFF reports its latency percentiles, not a history, so the
// history is built here from the status answers the web app reads. No timer of its own: the status page
// refreshes itself every 2 s, and each of its reads records a sample, so samples arrive while someone watches
// (and nothing is polled while nobody does; the web app has no admin token of its own to poll with).
// Two viewers reading within MIN_GAP_MS of each other make one sample, not two, so the line's time axis stays
// roughly even. Per process: two web replicas keep two histories.

export type LatencySample = { at: number; p50: number | null; p99: number | null };

export type StatusHistory = {
  /** Records one reading of every upstream's latency, at the clock's now. */
  record(upstreams: readonly { name: string; p50: number | null; p99: number | null }[]): void;
  /** The upstream's samples, oldest first (empty for a name never seen). */
  samples(name: string): readonly LatencySample[];
};

/** Samples kept per upstream: a minute of the page's 2-second refresh. */
export const HISTORY_SIZE = 30;
/** Readings closer together than this replace the last sample instead of adding one. */
export const MIN_GAP_MS = 1000;
/** At most this many upstream names are kept (a BFF never has this many; it bounds memory if names vary). */
const MAX_UPSTREAMS = 50;

export function createStatusHistory(options: { now: () => number; size?: number; minGapMs?: number }): StatusHistory {
  const size = options.size ?? HISTORY_SIZE;
  const minGap = options.minGapMs ?? MIN_GAP_MS;
  const rings = new Map<string, LatencySample[]>();
  return {
    record(upstreams) {
      const at = options.now();
      for (const { name, p50, p99 } of upstreams) {
        let ring = rings.get(name);
        if (!ring) {
          if (rings.size >= MAX_UPSTREAMS) continue;
          ring = [];
          rings.set(name, ring);
        }
        const last = ring.at(-1);
        const sample = { at, p50, p99 };
        if (last && at - last.at < minGap) ring[ring.length - 1] = { ...sample, at: last.at };
        else ring.push(sample);
        if (ring.length > size) ring.splice(0, ring.length - size);
      }
    },
    samples: (name) => rings.get(name) ?? [],
  };
}
