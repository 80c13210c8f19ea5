// Everything a service needs to run its outbox relay: the event queues on REDIS_URL under the BullMQ
// prefix, the relay started on the service's database, and one close for shutdown. Redis being down at
// start-up is fine: the relay waits for it.
import type { Sql } from "postgres";
import type { Logger } from "../observability/logger.ts";
import { createEventQueues } from "./event-queues.ts";
import { createOutboxRelay, type OutboxRelayOptions } from "./relay.ts";

export type RunningOutboxRelay = { wake(): void; close(): Promise<void> };

export function startOutboxRelay(options: {
  sql: Sql;
  logger: Logger;
  redisUrl: string;
  prefix: string;
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
