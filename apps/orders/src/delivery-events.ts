// The orders service's consumer of delivery events: a BullMQ worker on the "orders" queue (name = event type,
// id = event_id) that applies delivery.assigned, .done and .canceled to the order (db/delivery.ts). A failure
// of our own (the database away) is retried per the job's options; bad data, a name with no handler or an
// order we do not have fails the job at once, and failed jobs stay as dead letters.
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Sql } from "postgres";
import { ORDERS_QUEUE } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import { applyDeliveryEvent, DeliveryEventMismatchError, type DeliveryEventOutcome } from "./db/delivery.ts";
import { parseDeliveryJob } from "./delivery-event-data.ts";
import { createOutageLog, type OutageLog, type OutageWords } from "@storefront/shared/observability/redis-outage";

/** What a Redis outage means for this worker, in its log line. */
export const DELIVERY_EVENT_WORDS: OutageWords = { waiting: "delivery events wait in Redis (or in the delivery service's outbox) until it is back", resumed: "taking delivery events" };

export type DeliveryEventsOptions = {
  /** Worker connections need maxRetriesPerRequest: null (workerRedisOptions). */
  connection: ConnectionOptions;
  prefix: string;
  sql: Sql;
  logger: Logger;
  concurrency?: number;
  /** How long a job's lock lasts without renewal, and how often stalled jobs are looked for (BullMQ: 30 s both). */
  lockDurationMs?: number;
  /** Shared with the connection's own listeners in index.ts, so an outage is logged once. */
  outage?: OutageLog;
  /** Whether Redis answers now; when it does not, closing does not wait for jobs that cannot finish anyway. */
  redisReady?: () => boolean;
};

export type DeliveryEventsWorker = {
  worker: Worker;
  /**
   * Stops taking jobs and waits up to graceMs for the active ones (each is one short transaction). Past that
   * it stops waiting: their locks expire and a later worker runs them again, which applies nothing twice.
   */
  close(options?: { graceMs?: number }): Promise<"drained" | "abandoned">;
};

export function createDeliveryEventsWorker(options: DeliveryEventsOptions): DeliveryEventsWorker {
  const { connection, prefix, sql, logger } = options;

  const processor = async (job: Job): Promise<DeliveryEventOutcome> => {
    const event = parseDeliveryJob(job);
    try {
      const outcome = await applyDeliveryEvent(sql, event);
      if (outcome.applied && outcome.moved) logger.info(`order ${outcome.order_status}`, { order_id: event.payload.order_id, event_id: event.event_id, type: event.type });
      return outcome;
    } catch (err) {
      // The event cannot fit this service's orders: retrying will not change that.
      if (err instanceof DeliveryEventMismatchError) throw new UnrecoverableError(`${job.name} ${event.event_id}: ${err.message}`);
      throw err;
    }
  };

  const worker = new Worker(ORDERS_QUEUE, processor, {
    connection,
    prefix,
    concurrency: options.concurrency ?? 8,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs } : {}),
  });
  // Without a listener an 'error' event would throw; Redis going away is logged once, and ioredis reconnects.
  const outage = options.outage ?? createOutageLog(logger, DELIVERY_EVENT_WORDS);
  worker.on("error", outage.onError("delivery events worker"));
  worker.on("failed", (job, err) =>
    logger.warn("delivery event failed", { job_id: job?.id, name: job?.name, attempts_made: job?.attemptsMade, error: err.message }),
  );

  let closing: Promise<"drained" | "abandoned"> | undefined;
  const close = ({ graceMs = 10_000 } = {}) =>
    (closing ??= (async () => {
      if (options.redisReady && !options.redisReady()) {
        // Redis is down: no job can be marked done, and close() would wait for a connection that is not there.
        void worker.close(true).catch(() => {});
        return "abandoned" as const;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = worker.close().then(
        () => "drained" as const,
        (err) => {
          logger.error("closing the delivery events worker failed", { error: String(err) });
          return "abandoned" as const;
        },
      );
      const outcome = await Promise.race([closed, new Promise<"abandoned">((resolve) => (timer = setTimeout(() => resolve("abandoned"), graceMs)))]);
      clearTimeout(timer);
      return outcome;
    })());

  return { worker, close };
}
