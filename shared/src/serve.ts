// Serves an app on a port and shuts it down gracefully on SIGINT/SIGTERM:
// stop accepting, let in-flight requests finish, release resources, exit 0.
import type { Hono } from "hono";
import { createLogger, type Logger } from "./observability/logger.ts";

type Closer = () => Promise<unknown> | unknown;

export function serveApp(options: {
  app: Hono<any, any, any>;
  service: string;
  port: number;
  hostname?: string;
  onClose?: Closer[];
  graceMs?: number;
  logger?: Logger;
}) {
  const { app, service, port, hostname = "0.0.0.0", onClose = [], graceMs = 10_000 } = options;
  const logger = options.logger ?? createLogger(service);
  const log = (_: string, msg: string) => logger.info(msg);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ port, hostname, fetch: app.fetch, idleTimeout: 30 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? `port ${port} is already in use` : (err as Error).message;
    console.error(`${service}: cannot listen on ${hostname}:${port}: ${reason}`);
    logger.error("cannot listen", { port, reason });
    // Release whatever index.ts opened before it exits non-zero.
    void Promise.allSettled(onClose.map((close) => close())).finally(() => process.exit(1));
    return undefined;
  }
  log(service, `listening on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.port}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(service, `${signal}: draining in-flight requests`);
    const force = setTimeout(() => {
      log(service, `in-flight requests still open after ${graceMs} ms, closing them`);
      void server.stop(true);
    }, graceMs);
    await server.stop(false);
    clearTimeout(force);
    for (const close of onClose) {
      try {
        await close();
      } catch (err) {
        log(service, `error while closing: ${(err as Error).message}`);
      }
    }
    log(service, "stopped");
    process.exit(0);
  };
  // `on`, not `once`: a second signal while draining (a supervisor plus a terminal's Ctrl-C) must not fall
  // through to the default handler and kill in-flight requests; `stopping` makes it a no-op.
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  return server;
}
