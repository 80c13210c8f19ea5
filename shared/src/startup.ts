// The first thing every index.ts does: the app's logger (LOG_LEVEL) and metrics, and a guard for the start-up
// itself, so a bad setting or a step that fails (a database that does not answer) is one JSON log line
// naming it and exit code 1, not a stack trace.
import { AppExitedError, processHost, type AppHost } from "./app-host.ts";
import { intFromEnv } from "./config.ts";
import { createLogger, logLevelFromEnv, type Logger } from "./observability/logger.ts";
import { createObservability, type Observability } from "./observability/observability.ts";

type Env = Record<string, string | undefined>;

export type Startup = {
  readonly observability: Observability;
  /** The process it runs in (app-host.ts); serveApp takes its stop and exit from here. */
  readonly host: AppHost;
  /**
   * SHUTDOWN_DELAY_MS: on a stop, how long the app keeps serving with /ready answering 503 and every answer
   * closing its connection, before it stops accepting (default 0). Load balancers and clients that balance over
   * replicas need that moment to stop sending it new requests: a rolling restart then fails none.
   */
  readonly shutdownDelayMs: number;
  /**
   * DATABASE_POOL_MAX: connections in the app's pool to its own database (default 10). Replicas x services x
   * this must stay under the server's max_connections.
   */
  readonly databasePoolMax: number;
  /** DATABASE_IDLE_TIMEOUT_S: a pool connection idle this long is closed (default 30). */
  readonly databaseIdleTimeoutS: number;
  /** serveApp says when it has taken over the stop (until then a stop during start-up ends the app at once). */
  serving(): void;
  /** Reads the app's settings; a bad value ends the app with a line saying which. */
  settings<T>(read: () => T): T;
  /** Ends the app: `what` could not be done. */
  fail(what: string, error: unknown): never;
};

/** Ends the app; for an in-process host, whose exit returns, the throw unwinds the start-up. */
const end = (host: AppHost, code: number): never => {
  host.exit(code);
  throw new AppExitedError(code);
};

export function startup(service: string, env: Env, host: AppHost = processHost): Startup {
  let logger: Logger;
  let shutdownDelayMs: number;
  let databasePoolMax: number;
  let databaseIdleTimeoutS: number;
  try {
    logger = createLogger(service, logLevelFromEnv(env), host.write);
    shutdownDelayMs = intFromEnv(env, "SHUTDOWN_DELAY_MS", 0);
    databasePoolMax = intFromEnv(env, "DATABASE_POOL_MAX", 10, { min: 1 });
    databaseIdleTimeoutS = intFromEnv(env, "DATABASE_IDLE_TIMEOUT_S", 30, { min: 1 });
  } catch (err) {
    createLogger(service, "info", host.write).error("invalid configuration", { error: (err as Error).message });
    return end(host, 1);
  }
  const fail = (what: string, error: unknown): never => {
    // The message names the problem; the stack only helps whoever debugs the app itself (LOG_LEVEL=debug).
    const stack = logger.enabled("debug") ? { stack: (error as Error)?.stack } : {};
    logger.error(`cannot start: ${what}`, { error: error instanceof Error ? error.message : String(error), ...stack });
    return end(host, 1);
  };
  // Stopped before it serves (a supervisor's Ctrl-C while the database starts): a clean exit, not a death by
  // signal. Once serveApp has taken over, its graceful shutdown handles the stop instead.
  let serving = false;
  host.onStop((why) => {
    if (serving) return;
    logger.info(`${why} during start-up: stopping`);
    host.exit(0);
  });
  return {
    observability: createObservability(service, { logger }),
    host,
    shutdownDelayMs,
    databasePoolMax,
    databaseIdleTimeoutS,
    serving: () => {
      serving = true;
    },
    settings(read) {
      try {
        return read();
      } catch (err) {
        logger.error("invalid configuration", { error: (err as Error).message });
        return end(host, 1);
      }
    },
    fail,
  };
}
