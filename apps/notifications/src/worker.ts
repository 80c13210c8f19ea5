// The notifications worker: takes jobs off the notifications queue (name = event type, id = event_id) and
// runs the processor for each name. Failures are retried per the job's options (EVENT_JOB_OPTIONS);
// UnrecoverableError (bad data, a name with no processor, a 4xx refusing the job's own request) fails a job
// at once, and failed jobs stay as dead letters. Trouble with the worker's own credentials is retried: it is
// not the job's fault.
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Sql } from "postgres";
import { ServiceCredentialsRefusedError } from "@storefront/shared/auth/service-credentials";
import { CART_REMINDER, NOTIFICATIONS_QUEUE } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import { isCallersFault, UpstreamStatusError } from "@storefront/shared/upstream/errors";
import type { CartClient } from "./clients/cart.ts";
import type { FavoritesClient } from "./clients/favorites.ts";
import { NoHandlerError, parseJob } from "./job-data.ts";
import { processCartChanged, processCartReminder } from "./processors/cart-reminder.ts";
import type { ProcessorContext } from "./processors/context.ts";
import { processDeliveryEvent } from "./processors/delivery-event.ts";
import { processOrderEvent } from "./processors/order-event.ts";
import { processProductEvent } from "./processors/product-event.ts";
import { createOutageLog, type OutageLog } from "@storefront/shared/observability/redis-outage";
import type { WebhookSender } from "./webhook.ts";

export const DEFAULT_FAVORITES_PAGE = 500;

export type NotificationsWorkerOptions = {
  /** Worker connections need maxRetriesPerRequest: null (workerRedisOptions). */
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  sql: Sql;
  favorites: FavoritesClient;
  cart: CartClient;
  webhook?: WebhookSender;
  reminderDelayMs: number;
  favoritesPageSize?: number;
  /** How long a job's lock lasts without renewal, and how often stalled jobs are looked for (BullMQ: 30 s both). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  logger: Logger;
  /** Shared with the connection's own listeners in index.ts, so an outage is logged once. */
  outage?: OutageLog;
  /** Whether Redis answers now; when it does not, closing does not wait for jobs that cannot finish anyway. */
  redisReady?: () => boolean;
};

export type CloseOutcome = "drained" | "cancelled" | "abandoned";

export type NotificationsWorker = {
  worker: Worker;
  /** The same queue, for the delayed reminders the worker arms itself. */
  queue: Queue;
  /**
   * Stops taking jobs and lets active ones finish within graceMs; then aborts them (they fail this attempt and
   * are retried later) and waits up to cancelMs more; past that it stops waiting (their locks expire and a
   * later worker picks them up as stalled).
   */
  close(options?: { graceMs?: number; cancelMs?: number }): Promise<CloseOutcome>;
};

export function createNotificationsWorker(options: NotificationsWorkerOptions): NotificationsWorker {
  const { connection, prefix, concurrency, logger } = options;
  const queue = new Queue(NOTIFICATIONS_QUEUE, { connection, prefix });
  const ctx: ProcessorContext = {
    sql: options.sql,
    favorites: options.favorites,
    cart: options.cart,
    webhook: options.webhook,
    queue,
    reminderDelayMs: options.reminderDelayMs,
    favoritesPageSize: options.favoritesPageSize ?? DEFAULT_FAVORITES_PAGE,
  };

  const run = async (job: Job, signal?: AbortSignal) => {
    const parsed = parseJob(job);
    switch (parsed.name) {
      case "stock.back_in_stock":
      case "price.dropped":
        return processProductEvent(ctx, parsed.data, signal);
      case "cart.changed":
        return processCartChanged(ctx, parsed.data);
      case "order.confirmed":
      case "order.cancelled":
        return processOrderEvent(ctx, parsed.data, signal);
      case "delivery.assigned":
      case "delivery.done":
        return processDeliveryEvent(ctx, parsed.data, signal);
      case CART_REMINDER:
        return processCartReminder(ctx, parsed.data, signal);
      default: {
        // A schema in job-data.ts without a case here would otherwise complete the job having done nothing;
        // `never` makes that a type error, and the throw covers data that slipped past the types.
        const unhandled: never = parsed;
        throw new NoHandlerError((unhandled as { name: string }).name);
      }
    }
  };
  // Three parameters: BullMQ passes the abort signal only to a processor that declares it.
  const processor = async (job: Job, _token?: string, signal?: AbortSignal) => {
    try {
      return await run(job, signal);
    } catch (err) {
      logCredentialTrouble(logger, job, err);
      throw asJobError(err);
    }
  };

  const worker = new Worker(NOTIFICATIONS_QUEUE, processor, {
    connection,
    prefix,
    concurrency,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
  });
  // Without listeners an 'error' event would throw; Redis going away is logged once, and ioredis reconnects.
  const outage = options.outage ?? createOutageLog(logger);
  worker.on("error", outage.onError("worker"));
  queue.on("error", outage.onError("queue"));
  worker.on("failed", (job, err) =>
    logger.warn("job failed", { job_id: job?.id, name: job?.name, attempts_made: job?.attemptsMade, error: err.message }),
  );

  /** Whether `work` settled (either way: a failed close is still a finished one) within `ms`. */
  const settleWithin = async (work: Promise<unknown>, ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const settled = work.then(
      () => true,
      () => true,
    );
    try {
      return await Promise.race([settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  let closing: Promise<CloseOutcome> | undefined;
  const close = ({ graceMs = 10_000, cancelMs = 2_000 } = {}) =>
    (closing ??= (async () => {
      if (options.redisReady && !options.redisReady()) {
        // Redis is down: no job can complete or even be marked done, and close() would wait for a connection
        // that is not there. Their locks expire and a worker takes them up again once Redis is back.
        void worker.close(true).catch(() => {});
        void queue.close().catch(() => {});
        return "abandoned";
      }
      // BullMQ 6.7's close(true) after a pending close() only returns the same pending promise, so the forced
      // step is to abort the active jobs through their signals instead.
      const workerClosed = worker.close().catch((err) => logger.error("closing the worker failed", { error: String(err) }));
      let outcome: CloseOutcome = "drained";
      if (!(await settleWithin(workerClosed, graceMs))) {
        logger.warn(`active jobs still running after ${graceMs} ms, aborting them`);
        worker.cancelAllJobs("the worker is shutting down");
        outcome = (await settleWithin(workerClosed, cancelMs)) ? "cancelled" : "abandoned";
      }
      if (!(await settleWithin(queue.close(), cancelMs))) logger.warn(`the queue did not close within ${cancelMs} ms`);
      return outcome;
    })());

  return { worker, queue, close };
}

/** 401 and 403 answer who is asking (the worker's service token), not what the job asks for. */
const isAboutOurCredentials = (status: number) => status === 401 || status === 403;

/**
 * BullMQ retries a job unless it fails with UnrecoverableError. A refusal of the job's own request (a 4xx
 * other than 408/429 from favorites or cart, e.g. an unknown product) would be refused again: it ends the job.
 * A 401 or 403 is about the worker's credentials (a token the upstream no longer accepts, dropped so the next
 * attempt fetches a new one; a role it was not given), and the users service refusing the client secret
 * (ServiceCredentialsRefusedError) is a setting to fix: all are retried with backoff, so a misconfiguration
 * that is put right in time loses no job, rather than dead-lettering every job at its first attempt.
 */
export function asJobError(error: unknown): unknown {
  if (error instanceof ServiceCredentialsRefusedError) return error;
  if (error instanceof UpstreamStatusError && isCallersFault(error.status) && !isAboutOurCredentials(error.status)) {
    return new UnrecoverableError(error.message);
  }
  return error;
}

/** Credential failures are retried, so they must be loud: the "job failed" warning alone would hide a bad secret. */
function logCredentialTrouble(logger: Logger, job: Job, error: unknown) {
  const fields = { job_id: job.id, name: job.name, attempts_made: job.attemptsMade, error: (error as Error)?.message ?? String(error) };
  if (error instanceof ServiceCredentialsRefusedError) {
    logger.error("the users service refused the worker's client credentials: check SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET; the job will be retried", fields);
  } else if (error instanceof UpstreamStatusError && isAboutOurCredentials(error.status)) {
    logger.warn(`${error.upstream} refused the worker's service token (${error.status}); the job will be retried`, fields);
  }
}
