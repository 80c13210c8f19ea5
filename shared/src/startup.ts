// The first thing every index.ts does: the app's logger (LOG_LEVEL) and metrics, and a guard for the start-up
// itself, so a bad setting or a step that fails (a database that does not answer) is one JSON log line
// naming it and exit code 1, not a stack trace.
import { createLogger, logLevelFromEnv, type Logger } from "./observability/logger.ts";
import { createObservability, type Observability } from "./observability/observability.ts";
import { isServing } from "./serve.ts";

type Env = Record<string, string | undefined>;

export type Startup = {
  readonly observability: Observability;
  /** Reads the app's settings; a bad value ends the app with a line saying which. */
  settings<T>(read: () => T): T;
  /** Ends the app: `what` could not be done. */
  fail(what: string, error: unknown): never;
};

export function startup(service: string, env: Env): Startup {
  let logger: Logger;
  try {
    logger = createLogger(service, logLevelFromEnv(env));
  } catch (err) {
    createLogger(service).error("invalid configuration", { error: (err as Error).message });
    process.exit(1);
  }
  const fail = (what: string, error: unknown): never => {
    // The message names the problem; the stack only helps whoever debugs the app itself (LOG_LEVEL=debug).
    const stack = logger.enabled("debug") ? { stack: (error as Error)?.stack } : {};
    logger.error(`cannot start: ${what}`, { error: error instanceof Error ? error.message : String(error), ...stack });
    process.exit(1);
  };
  // Stopped before it serves (a supervisor's Ctrl-C while the database starts): a clean exit, not a death by
  // signal. Once serveApp has taken over, its graceful shutdown handles the signals instead.
  const stopEarly = (signal: string) => {
    if (isServing()) return;
    logger.info(`${signal} during start-up: stopping`);
    process.exit(0);
  };
  process.on("SIGINT", stopEarly);
  process.on("SIGTERM", stopEarly);
  return {
    observability: createObservability(service, { logger }),
    settings(read) {
      try {
        return read();
      } catch (err) {
        logger.error("invalid configuration", { error: (err as Error).message });
        process.exit(1);
      }
    },
    fail,
  };
}
