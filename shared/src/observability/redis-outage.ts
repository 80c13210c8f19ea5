// Redis going away is one event, not a log line per reconnect attempt: the first connection error of an outage
// is logged (with what it means for this app), the rest are quiet until the connection is ready again; closing
// on purpose is no outage. Every app that takes jobs from a queue (notifications, orders, delivery) uses it.
import type { Logger } from "./logger.ts";

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

/** What the outage means for this app's jobs, and what resumes: e.g. "delivery events wait in Redis ...". */
export type OutageWords = { waiting: string; resumed: string };

const JOBS: OutageWords = { waiting: "events wait in the services' outboxes and jobs in Redis until it is back", resumed: "taking jobs" };

export function createOutageLog(logger: Logger, words: OutageWords = JOBS): OutageLog {
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
      logger.warn(`Redis is unreachable: ${words.waiting}`, { error: String(err) });
    },
    onReady() {
      if (!down) return;
      down = false;
      logger.info(`Redis is reachable again: ${words.resumed}`);
    },
    closing() {
      closing = true;
    },
  };
}
