// Redis going away is one event, not a log line per reconnect attempt: the first connection error of an outage
// is logged, the rest are quiet until the connection is ready again; closing on purpose is no outage. The same
// behaviour as the notifications worker's redis-outage.ts (a copy: apps do not import each other; both belong
// in shared/ one day).
import type { Logger } from "@storefront/shared/observability/logger";

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|connect ETIMEDOUT|Socket closed/i;

export const isConnectionError = (err: unknown) =>
  CONNECTION_ERROR.test(String((err as { code?: string })?.code ?? "")) || CONNECTION_ERROR.test(String((err as Error)?.message ?? err));

export type OutageLog = {
  /** For every 'error' listener that may see Redis connection errors; other errors are logged as they come. */
  onError(source: string): (err: unknown) => void;
  /** Call when the connection is ready: ends an outage (logged once). */
  onReady(): void;
  /** Call when closing the connection on purpose: the connection errors that follow are not an outage. */
  closing(): void;
  readonly down: boolean;
};

export function createOutageLog(logger: Logger): OutageLog {
  let down = false;
  let closing = false;
  return {
    get down() {
      return down;
    },
    onError: (source) => (err) => {
      if (!isConnectionError(err)) return logger.error(`${source} error`, { error: String(err) });
      if (down || closing) return;
      down = true;
      logger.warn("Redis is unreachable: delivery events wait in Redis (or in the delivery service's outbox) until it is back", { error: String(err) });
    },
    closing() {
      closing = true;
    },
    onReady() {
      if (!down) return;
      down = false;
      logger.info("Redis is reachable again: taking delivery events");
    },
  };
}
