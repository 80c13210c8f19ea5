// The chaos run's event accounting: outbox rows written and published per emitting service (psql), and each
// row's BullMQ job on the private Redis (the job's id is the row's id), with how many completed or failed.
import { psql } from "../databases.ts";
import { redisCli } from "./redis.ts";

/** The services with an outbox and a relay. */
export const EMITTERS = ["products", "inventory", "cart"] as const;
export type Emitter = (typeof EMITTERS)[number];

export type OutboxCount = {
  service: Emitter;
  written: number;
  published: number;
  /** Rows whose job exists in Redis, in any state. */
  found: number;
  completed: number;
  failed: number;
};

async function outboxRows(url: string): Promise<{ id: string; published: boolean }[]> {
  const out = await psql(url, "select id, published_at is not null from outbox order by created_at");
  if (!out) return [];
  return out.split("\n").map((line) => {
    const [id, published] = line.split("|");
    return { id: id!, published: published === "t" };
  });
}

export async function countEvents(urls: Record<Emitter, string>, redisPort: number, prefix: string): Promise<OutboxCount[]> {
  const queue = `${prefix}:notifications`;
  const [completed, failed] = await Promise.all(
    ["completed", "failed"].map(async (state) => new Set((await redisCli(redisPort, [`ZRANGE ${queue}:${state} 0 -1`])).filter(Boolean))),
  );
  return Promise.all(
    EMITTERS.map(async (service) => {
      const rows = await outboxRows(urls[service]);
      const exists = rows.length ? await redisCli(redisPort, rows.map((r) => `EXISTS ${queue}:${r.id}`)) : [];
      if (exists.length !== rows.length) throw new Error(`redis-cli answered ${exists.length} of ${rows.length} EXISTS`);
      return {
        service,
        written: rows.length,
        published: rows.filter((r) => r.published).length,
        found: exists.filter((e) => e === "1").length,
        completed: rows.filter((r) => completed!.has(r.id)).length,
        failed: rows.filter((r) => failed!.has(r.id)).length,
      };
    }),
  );
}

export const allPublished = (counts: OutboxCount[]) => counts.every((c) => c.published === c.written);
export const allSettled = (counts: OutboxCount[]) => counts.every((c) => c.completed + c.failed === c.found);

/**
 * Waits, at most `timeoutMs`, until every row is published and every job has completed or failed; returns
 * the last count and how long it took. A job left active by a killed worker runs again after WORKER_LOCK_MS.
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
