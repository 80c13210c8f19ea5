// What an app does with an error nobody handled. Both kinds are logged once, with the stack, and counted in
// process_unhandled_errors_total{kind}. An unhandled promise rejection then changes nothing: the app goes on
// serving, because the request that made the promise was answered by its own handler and deadline, and
// libraries do leave such promises behind (postgres.js drops the promise of a cancel request, and of its
// internal type query: porsager/postgres#1192).
// An uncaught exception makes the app drain and exit 1: the code that threw was cut off half-way and may
// have left shared state (a breaker, a cache, a pool) half-changed, so a clean process is the safe next
// step; the supervisor (bun run dev, compose's restart policy, Kubernetes) starts one.
import type { Logger } from "./observability/logger.ts";
import type { Registry } from "./observability/metrics.ts";

export type ProcessGuardOptions = {
  logger: Logger;
  registry: Registry;
  /** Called after an uncaught exception was logged: start a graceful shutdown that exits non-zero. */
  onFatal: (error: unknown) => void;
};

const describe = (error: unknown) =>
  error instanceof Error ? { error: `${error.name}: ${error.message}`, stack: error.stack } : { error: String(error), stack: undefined };

export function installProcessGuards({ logger, registry, onFatal }: ProcessGuardOptions): void {
  const unhandled = registry.counter("process_unhandled_errors_total", "Errors nobody handled, by kind; the app logs each one with its stack.", ["kind"]);
  // Both series exist from the start, so a dashboard (or a test) reads 0 rather than nothing.
  unhandled.inc(["unhandled_rejection"], 0);
  unhandled.inc(["uncaught_exception"], 0);
  process.on("unhandledRejection", (reason) => {
    unhandled.inc(["unhandled_rejection"]);
    logger.error("unhandled promise rejection (the app keeps serving)", describe(reason));
  });
  process.on("uncaughtException", (error) => {
    unhandled.inc(["uncaught_exception"]);
    logger.error("uncaught exception (the app drains and exits 1)", describe(error));
    onFatal(error);
  });
}
