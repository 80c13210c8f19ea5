// Everything a service needs to run its outbox relay: the event queues on REDIS_URL under the BullMQ
// prefix, the relay started on the service's database, its backlog as the outbox_pending_events gauge on the
// service's /metrics, and one close for shutdown. Redis being down at start-up is fine: the relay waits for it.
import type { Sql } from "postgres";
import type { Logger } from "../observability/logger.ts";
import type { Registry } from "../observability/metrics.ts";
import { createEventQueues } from "./event-queues.ts";
import { createOutboxRelay, type OutboxRelayOptions } from "./relay.ts";

/** The gauge's name; the BFF's status page reads it from each service's /metrics. */
export const OUTBOX_PENDING_GAUGE = "outbox_pending_events";

export type RunningOutboxRelay = { wake(): void; close(): Promise<void> };

export function startOutboxRelay(options: {
  sql: Sql;
  logger: Logger;
  redisUrl: string;
  prefix: string;
  /** The service's metrics registry (Observability.registry): gets the outbox_pending_events gauge. */
  registry?: Registry;
  relay?: Omit<OutboxRelayOptions, "sql" | "queues" | "logger">;
}): RunningOutboxRelay {
  const { sql, logger, redisUrl, prefix } = options;
  const events = createEventQueues({ redisUrl, prefix });
  const relay = createOutboxRelay({
    ...options.relay,
    sql,
    queues: events.queues,
    logger,
  });
  // No sample until the first pass has counted: "unknown" rather than a made-up 0.
  options.registry?.gauge(OUTBOX_PENDING_GAUGE, "Outbox rows not yet published to the event queues, as of the relay's last pass.", [], () => {
    const pending = relay.pendingEvents();
    return pending === null ? [] : [[[], pending]];
  });
  relay.start();
  return {
    wake: relay.wake,
    async close() {
      // The batch in flight finishes (or rolls back) before the queue and then the database close.
      await relay.stop();
      await events.close();
    },
  };
}
