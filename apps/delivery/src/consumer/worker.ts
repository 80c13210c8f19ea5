// The consumer of the delivery queue: a BullMQ worker whose jobs are order events (name = event type, id =
// event_id, EVENT_JOB_OPTIONS). Each is applied once (apply-event.ts). A database failure is thrown and retried
// with the job's backoff; bad data or an unknown name is an UnrecoverableError (job-data.ts): a dead letter at
// its first attempt, kept in the failed set (removeOnFail: false), never retried by itself.
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Sql } from "postgres";
import { DELIVERY_QUEUE } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { applyOrderEvent, type Applied } from "./apply-event.ts";
import { parseJob } from "./job-data.ts";
import { createOutageLog, type OutageLog, type OutageWords } from "@storefront/shared/observability/redis-outage";

/** What a Redis outage means for this worker, in its log line. */
export const ORDER_EVENT_WORDS: OutageWords = { waiting: "order events wait in Redis and the orders service's outbox until it is back", resumed: "taking order events" };

export type DeliveryWorkerOptions = {
  /** Worker connections need maxRetriesPerRequest: null (workerRedisOptions). */
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  sql: Sql;
  logger: Logger;
  /** The service's outbox relay, woken after an event wrote delivery events. */
  outbox?: OutboxWaker;
  /** Shared with the connection's own listeners in index.ts, so an outage is logged once. */
  outage?: OutageLog;
  /** Whether Redis answers now; when it does not, closing does not wait for jobs that cannot finish anyway. */
  redisReady?: () => boolean;
  /** Lock duration and stalled-check interval (BullMQ's default 30 s): how soon a job whose process died runs again. */
  lockDurationMs?: number;
};

export type CloseOutcome = "drained" | "abandoned";

export type DeliveryWorker = {
  worker: Worker<unknown, Applied>;
  /**
   * Stops taking jobs and waits up to graceMs for the active ones. Past that (or with Redis down) it stops
   * waiting: their locks expire and a worker takes them up again as stalled; a job whose transaction had
   * committed is then a duplicate and changes nothing.
   */
  close(options?: { graceMs?: number }): Promise<CloseOutcome>;
};

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { connection, prefix, concurrency, sql, logger, outbox } = options;

  const processor = async (job: Job): Promise<Applied> => {
    const event = parseJob(job);
    const applied = await applyOrderEvent(sql, event);
    if (applied.events > 0) outbox?.wake();
    const fields = { job_id: job.id, name: job.name, order_id: event.payload.order_id, outcome: applied.outcome };
    // Applied events are the normal case; the others say something about the order of events worth reading.
    if (applied.outcome === "created" || applied.outcome === "applied") logger.debug("order event applied", fields);
    else logger.info("order event handled", fields);
    return applied;
  };

  const worker = new Worker<unknown, Applied>(DELIVERY_QUEUE, processor, {
    connection,
    prefix,
    concurrency,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
  });
  // Without listeners an 'error' event would throw; Redis going away is logged once, and ioredis reconnects.
  const outage = options.outage ?? createOutageLog(logger, ORDER_EVENT_WORDS);
  worker.on("error", outage.onError("worker"));
  worker.on("failed", (job, err) => {
    const fields = { job_id: job?.id, name: job?.name, attempts_made: job?.attemptsMade, error: err.message };
    // UnrecoverableError (bad data, no handler) ends the job at once; anything else once its attempts are used up.
    const final = err instanceof UnrecoverableError || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    if (final) logger.error("order event dead-lettered: it stays in the failed set until retried or removed", fields);
    else logger.warn("order event failed; it will be retried", fields);
  });

  const settleWithin = async (work: Promise<unknown>, ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([work.then(() => true, () => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  let closing: Promise<CloseOutcome> | undefined;
  const close = ({ graceMs = 10_000 } = {}) =>
    (closing ??= (async (): Promise<CloseOutcome> => {
      if (options.redisReady && !options.redisReady()) {
        // Redis is down: no job can be marked done, and close() would wait for a connection that is not there.
        void worker.close(true).catch(() => {});
        return "abandoned";
      }
      const closed = worker.close().catch((err) => logger.error("closing the worker failed", { error: String(err) }));
      if (await settleWithin(closed, graceMs)) return "drained";
      logger.warn(`order events still being applied after ${graceMs} ms; leaving them to be taken up again`);
      return "abandoned";
    })());

  return { worker, close };
}
