// Serves an app on a port and shuts it down gracefully when its host says stop (SIGINT/SIGTERM for an app that
// owns its process): /ready turns 503 and answers close their connections for SHUTDOWN_DELAY_MS while requests
// are still served, then it stops accepting, lets in-flight requests finish, releases resources and ends with
// 0. Errors nobody handled follow process-guards.ts.
import type { Hono } from "hono";
import type { Startup } from "./startup.ts";

type Closer = () => Promise<unknown> | unknown;

/** While draining: not ready, and no connection kept alive for a next request that should go elsewhere. */
async function drainingAnswer(app: Hono<any, any, any>, req: Request, service: string): Promise<Response> {
  if (new URL(req.url).pathname === "/ready") {
    const body = { error: { code: "SHUTTING_DOWN", message: `${service} is shutting down` } };
    return Response.json(body, { status: 503, headers: { connection: "close" } });
  }
  const res = await app.fetch(req);
  // A copy: a response passed on from elsewhere may have immutable headers.
  const copy = new Response(res.body, res);
  copy.headers.set("connection", "close");
  return copy;
}

export function serveApp(options: {
  app: Hono<any, any, any>;
  service: string;
  port: number;
  hostname?: string;
  onClose?: Closer[];
  graceMs?: number;
  /** The app's start-up: its logger, its host (stop and exit), SHUTDOWN_DELAY_MS. */
  startup: Startup;
}) {
  const { app, service, port, hostname = "0.0.0.0", onClose = [], graceMs = 10_000, startup } = options;
  const { observability, host, shutdownDelayMs } = startup;
  const { logger } = observability;
  let draining = false;
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ port, hostname, fetch: (req) => (draining ? drainingAnswer(app, req, service) : app.fetch(req)), idleTimeout: 30 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? `port ${port} is already in use` : (err as Error).message;
    logger.error(`cannot listen on ${hostname}:${port}: ${reason}`, { port });
    // Release whatever index.ts opened before it exits non-zero.
    void Promise.allSettled(onClose.map(async (close) => close())).finally(() => host.exit(1));
    return undefined;
  }
  logger.info(`listening on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.port}`);

  let stopping = false;
  const shutdown = async (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    if (shutdownDelayMs > 0) {
      draining = true;
      logger.info(`${why}: not ready, serving ${shutdownDelayMs} ms more while callers move away`);
      await Bun.sleep(shutdownDelayMs);
    }
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
    host.exit(exitCode);
  };
  host.guard({ ...observability, onFatal: () => void shutdown("uncaught exception", 1) });
  host.onStop((why) => void shutdown(why, 0));
  startup.serving();
  return server;
}
