// Each relay service's outbox backlog for the status page: the outbox_pending_events gauge read from its
// /metrics under a short deadline. A service that does not answer in time, answers an error, or has no
// sample yet (its relay has not counted) reads as null; the others are unaffected.
import { createDeadline } from "@storefront/shared/deadline";
import type { FetchFn } from "@storefront/shared/upstream/client";
import { parseUpstreamUrls } from "@storefront/shared/upstream/instances";
import { OUTBOX_PENDING_GAUGE } from "@storefront/shared/outbox/start-outbox-relay";

export type OutboxBacklog = { service: string; pending: number | null };

/** The gauge's value in a Prometheus text body; undefined when it has no sample. */
export function pendingFrom(metrics: string): number | undefined {
  const match = new RegExp(`^${OUTBOX_PENDING_GAUGE}(?:\\{\\})? (\\S+)$`, "m").exec(metrics);
  const value = match ? Number(match[1]) : NaN;
  return Number.isFinite(value) ? value : undefined;
}

async function readPending(fetchFn: FetchFn, baseUrl: string, deadlineMs: number): Promise<number | null> {
  const deadline = createDeadline(deadlineMs);
  try {
    // The body is read inside the deadline too: a service that sends headers and then stalls is late as well.
    const text = await deadline.race(
      fetchFn(`${baseUrl.replace(/\/$/, "")}/metrics`, { signal: deadline.signal, redirect: "manual" }).then((res) => (res.ok ? res.text() : "")),
    );
    return pendingFrom(text) ?? null;
  } catch {
    return null;
  } finally {
    deadline.abort();
  }
}

/** A service given as a list of replicas: each counts the same outbox table, so the highest count that answered. */
async function readService(fetchFn: FetchFn, urls: string, deadlineMs: number): Promise<number | null> {
  const counts = (await Promise.all(parseUpstreamUrls(urls).map((url) => readPending(fetchFn, url, deadlineMs)))).filter((n) => n !== null);
  return counts.length ? Math.max(...counts) : null;
}

/** All services at once, each under its own deadline: the whole takes about `deadlineMs` at most. */
export const readOutboxes = (services: Readonly<Record<string, string>>, options: { fetch: FetchFn; deadlineMs: number }): Promise<OutboxBacklog[]> =>
  Promise.all(Object.entries(services).map(async ([service, urls]) => ({ service, pending: await readService(options.fetch, urls, options.deadlineMs) })));
