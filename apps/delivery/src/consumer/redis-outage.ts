// Redis going away is one event, not a log line per reconnect attempt: the first connection error of an outage
// is logged (with what it means), the rest are quiet until the connection is ready again. The same idea as the
// notifications worker's redis-outage.ts, worded for this queue.
import type { Logger } from "@storefront/shared/observability/logger";

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|Socket closed/i;

export const isConnectionError = (err: unknown) =>
  CONNECTION_ERROR.test(String((err as { code?: string })?.code ?? "")) || CONNECTION_ERROR.test(String((err as Error)?.message ?? err));

export type OutageLog = {
  /** For every 'error' listener that may see Redis connection errors; other errors are logged as they come. */
  onError(source: string): (err: unknown) => void;
  /** Call when the connection is ready: ends an outage (logged once). */
  onReady(): void;
  readonly down: boolean;
};

export function createOutageLog(logger: Logger): OutageLog {
  let down = false;
  return {
    get down() {
      return down;
    },
    onError: (source) => (err) => {
      if (!isConnectionError(err)) return logger.error(`${source} error`, { error: String(err) });
      if (down) return;
      down = true;
      logger.warn("Redis is unreachable: order events wait in Redis and the orders service's outbox until it is back", { error: String(err) });
    },
    onReady() {
      if (!down) return;
      down = false;
      logger.info("Redis is reachable again: taking order events");
    },
  };
}
