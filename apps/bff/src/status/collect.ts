// Gathers what the status page shows: each upstream's breaker and latency (from this process, at once), the
// event queues' counts and Redis's health (from Redis), and each relay service's outbox backlog (from its
// /metrics). Each remote part runs under its own deadline, all at the same time; a part that fails or is late
// is null (or redis "down"), so the page always answers, within about one deadline.
import { withDeadline } from "@storefront/shared/deadline";
import type { Histogram } from "@storefront/shared/observability/metrics";
import type { QueueCounts, QueueCountsReader } from "@storefront/shared/outbox/queue-counts";
import type { FetchFn, UpstreamClient } from "@storefront/shared/upstream/client";
import type { BreakerSnapshot } from "@storefront/shared/circuit-breaker";
import { bucketsByUpstream, latencyOf, type LatencySummary } from "./latency.ts";
import { readOutboxes, type OutboxBacklog } from "./outboxes.ts";

export type StatusSources = {
  upstreams: readonly UpstreamClient[];
  /** bff_upstream_request_duration_seconds. */
  duration: Histogram;
  /** The event queues on the BFF's Redis; without it queues are null and redis "down". */
  queues?: QueueCountsReader;
  /** Service name -> base URL, for each service that runs an outbox relay. */
  outboxServices: Readonly<Record<string, string>>;
  fetch: FetchFn;
  /** Each remote part's deadline. */
  deadlineMs: number;
};

export type ReplicaStatus = { url: string; state: BreakerSnapshot["state"]; outstanding: number; ejected_for_ms: number | null };

export type StatusPage = {
  upstreams: (Omit<BreakerSnapshot, "instances"> & { latency_ms: LatencySummary; replicas: ReplicaStatus[] | null })[];
  queues: QueueCounts[] | null;
  outboxes: OutboxBacklog[];
  redis: "up" | "down";
  generated_at: string;
};

export const DEFAULT_STATUS_DEADLINE_MS = 500;

export async function collectStatus(s: StatusSources): Promise<StatusPage> {
  const queues = s.queues;
  const [queueCounts, redis, outboxes] = await Promise.all([
    queues ? withDeadline(s.deadlineMs, () => queues.counts()).catch(() => null) : Promise.resolve(null),
    queues
      ? withDeadline(s.deadlineMs, () => queues.ping()).then(
          () => "up" as const,
          () => "down" as const,
        )
      : Promise.resolve("down" as const),
    readOutboxes(s.outboxServices, { fetch: s.fetch, deadlineMs: s.deadlineMs }),
  ]);
  // Read after the waits, so the breakers and latencies are as fresh as the rest.
  const latency = bucketsByUpstream(s.duration);
  const upstreams = s.upstreams.map((u) => {
    const { name, state, calls, failures, slow, half_open_in_ms, instances } = u.breaker.snapshot();
    const replicas = instances?.map(({ url, state, outstanding, ejected_for_ms }) => ({ url, state, outstanding, ejected_for_ms })) ?? null;
    return { name, state, calls, failures, slow, half_open_in_ms, latency_ms: latencyOf(latency.get(u.name)), replicas };
  });
  return { upstreams, queues: queueCounts, outboxes, redis, generated_at: new Date().toISOString() };
}
