// The chaos run's event accounting: outbox rows written and published per emitting service (psql), and the BullMQ
// job each row must have in every queue subscribed to its type (events.ts SUBSCRIPTIONS; the job's id is the
// row's id) on the private Redis, with how many of those jobs completed or failed.
import { SUBSCRIPTIONS } from "../../shared/src/notifications/events.ts";
import { psql } from "../databases.ts";
import { redisCli } from "./redis.ts";

/** The services with an outbox and a relay. */
export const EMITTERS = ["products", "inventory", "cart", "orders", "delivery"] as const;
export type Emitter = (typeof EMITTERS)[number];

export type OutboxCount = {
  service: Emitter;
  written: number;
  published: number;
  /** Jobs the rows must have: one per row and queue subscribed to its type (a product.changed has none). */
  expected: number;
  /** Of those, the jobs that exist in Redis, in any state. */
  found: number;
  completed: number;
  failed: number;
};

async function outboxRows(url: string): Promise<{ id: string; type: string; published: boolean }[]> {
  const out = await psql(url, "select id, type, published_at is not null from outbox order by created_at");
  if (!out) return [];
  return out.split("\n").map((line) => {
    const [id, type, published] = line.split("|");
    return { id: id!, type: type!, published: published === "t" };
  });
}

const subscribers = (type: string): readonly string[] => (SUBSCRIPTIONS as Record<string, readonly string[]>)[type] ?? [];

export async function countEvents(urls: Record<Emitter, string>, redisPort: number, prefix: string): Promise<OutboxCount[]> {
  const queues = [...new Set(Object.values(SUBSCRIPTIONS).flat())];
  const settled = new Map<string, { completed: Set<string>; failed: Set<string> }>();
  for (const queue of queues) {
    const [completed, failed] = await Promise.all(
      ["completed", "failed"].map(async (state) => new Set((await redisCli(redisPort, [`ZRANGE ${prefix}:${queue}:${state} 0 -1`])).filter(Boolean))),
    );
    settled.set(queue, { completed: completed!, failed: failed! });
  }
  return Promise.all(
    EMITTERS.map(async (service) => {
      const rows = await outboxRows(urls[service]);
      const jobs = rows.flatMap((r) => subscribers(r.type).map((queue) => ({ queue, id: r.id })));
      const exists = jobs.length ? await redisCli(redisPort, jobs.map((j) => `EXISTS ${prefix}:${j.queue}:${j.id}`)) : [];
      if (exists.length !== jobs.length) throw new Error(`redis-cli answered ${exists.length} of ${jobs.length} EXISTS`);
      return {
        service,
        written: rows.length,
        published: rows.filter((r) => r.published).length,
        expected: jobs.length,
        found: exists.filter((e) => e === "1").length,
        completed: jobs.filter((j) => settled.get(j.queue)!.completed.has(j.id)).length,
        failed: jobs.filter((j) => settled.get(j.queue)!.failed.has(j.id)).length,
      };
    }),
  );
}

export const allPublished = (counts: OutboxCount[]) => counts.every((c) => c.published === c.written && c.found === c.expected);
export const allSettled = (counts: OutboxCount[]) => counts.every((c) => c.completed + c.failed === c.found);

/**
 * Waits, at most `timeoutMs`, until every row is published and every job has completed or failed; returns
 * the last count and how long it took. A job left active by a killed worker runs again once its lock has
 * expired and a stalled check has found it (WORKER_LOCK_MS where the worker reads it, else BullMQ's 30 s).
 */
export async function waitForEvents(
  urls: Record<Emitter, string>,
  redisPort: number,
  prefix: string,
  timeoutMs: number,
): Promise<{ counts: OutboxCount[]; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const counts = await countEvents(urls, redisPort, prefix);
    const waitedMs = performance.now() - started;
    if ((allPublished(counts) && allSettled(counts)) || waitedMs > timeoutMs) return { counts, waitedMs };
    await Bun.sleep(500);
  }
}
