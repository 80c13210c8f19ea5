// Serves an app on a port and shuts it down gracefully on SIGINT/SIGTERM: stop accepting, let in-flight
// requests finish, release resources, exit 0. Errors nobody handled follow process-guards.ts.
import type { Hono } from "hono";
import type { Observability } from "./observability/observability.ts";
import { installProcessGuards } from "./process-guards.ts";

type Closer = () => Promise<unknown> | unknown;

let serving = false;
/** Whether serveApp has taken over SIGINT/SIGTERM (startup.ts stops the process itself until then). */
export const isServing = () => serving;

export function serveApp(options: {
  app: Hono<any, any, any>;
  service: string;
  port: number;
  hostname?: string;
  onClose?: Closer[];
  graceMs?: number;
  observability: Observability;
}) {
  const { app, service, port, hostname = "0.0.0.0", onClose = [], graceMs = 10_000, observability } = options;
  const { logger } = observability;
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ port, hostname, fetch: app.fetch, idleTimeout: 30 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? `port ${port} is already in use` : (err as Error).message;
    logger.error(`cannot listen on ${hostname}:${port}: ${reason}`, { port });
    // Release whatever index.ts opened before it exits non-zero.
    void Promise.allSettled(onClose.map(async (close) => close())).finally(() => process.exit(1));
    return undefined;
  }
  logger.info(`listening on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.port}`);

  let stopping = false;
  const shutdown = async (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${why}: draining in-flight requests`);
    const force = setTimeout(() => {
      logger.warn(`in-flight requests still open after ${graceMs} ms, closing them`);
      server.stop(true).catch(() => {}); // the drain below reports how it ended
    }, graceMs);
    await server.stop(false);
    clearTimeout(force);
    for (const close of onClose) {
      try {
        await close();
      } catch (err) {
        logger.error("error while closing", { error: (err as Error).message });
      }
    }
    logger.info("stopped");
    process.exit(exitCode);
  };
  installProcessGuards({ ...observability, onFatal: () => void shutdown("uncaught exception", 1) });
  // `on`, not `once`: a second signal while draining (a supervisor plus a terminal's Ctrl-C) must not fall
  // through to the default handler and kill in-flight requests; `stopping` makes it a no-op.
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  serving = true;
  return server;
}
