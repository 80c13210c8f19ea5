// bun run dev's light mode: every app in this one process, each on its own port with a host of its own
// (shared/src/app-host.ts), and one embedded Postgres for all the services that have no database URL, a schema
// per service, under DEV_DATABASE_DIR (default .data/postgres). Eleven processes and nine PGlite instances cost
// about 2.8 GB; this one costs a few hundred MB. dev.ts starts it, watches each app's /ready, and restarts it
// when it dies. It takes each app's environment from DEV_STACK (JSON: { "<app>": { VAR: value } }), written
// by dev.ts; a line an app logs is prefixed with its name, as in the process-per-app mode.
import { fileURLToPath } from "node:url";
import { AppExitedError, type AppHost } from "../shared/src/app-host.ts";
import { startEmbeddedServer, type EmbeddedServer } from "../shared/src/db/embedded-server.ts";
import { createLogger } from "../shared/src/observability/logger.ts";
import { installProcessGuards } from "../shared/src/process-guards.ts";
import { Registry } from "../shared/src/observability/metrics.ts";
import { APPS, type AppName } from "./apps.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const width = Math.max("stack".length, ...APPS.map((a) => a.name.length));
const prefixed = (name: string) => (line: string) => process.stdout.write(`${name.padEnd(width)} | ${line}\n`);
const logger = createLogger("stack", "info", prefixed("stack"));

type Running = { name: AppName; host: AppHost; stop: (why: string) => void; exited: Promise<number> };

function hostFor(name: AppName, embeddedServer: EmbeddedServer | undefined): Running {
  const stops: ((why: string) => void)[] = [];
  let settle!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (settle = resolve));
  const host: AppHost = {
    write: prefixed(name),
    onStop: (stop) => void stops.push(stop),
    exit: (code) => settle(code),
    // Installed once for the whole process, below.
    guard: () => {},
    embeddedServer,
  };
  return { name, host, stop: (why) => stops.forEach((stop) => stop(why)), exited };
}

const envs = JSON.parse(process.env.DEV_STACK ?? "{}") as Partial<Record<AppName, Record<string, string>>>;
const databaseDir = process.env.DEV_DATABASE_DIR || `${root}.data/postgres`;
const needsEmbedded = APPS.some((a) => a.hasDatabase && !(envs[a.name]?.[`${a.name.toUpperCase()}_DATABASE_URL`] || process.env[`${a.name.toUpperCase()}_DATABASE_URL`]));

const started = performance.now();
let server: EmbeddedServer | undefined;
if (needsEmbedded) {
  server = await startEmbeddedServer({ dataDir: databaseDir });
  logger.info(`embedded Postgres for every service without a database URL (a schema each): ${databaseDir}`, {
    port: server.port,
    ms: Math.round(performance.now() - started),
  });
}

const running = APPS.map((app) => hostFor(app.name, server));
let stopping = false;

async function stopAll(why: string, code: number) {
  if (stopping) return;
  stopping = true;
  for (const app of running) app.stop(why);
  // An app that never got to serving has no stop of its own registered yet: its exit is not awaited forever.
  await Promise.race([Promise.all(running.map((app) => app.exited)), Bun.sleep(12_000)]);
  await server?.stop().catch((err) => logger.error("the embedded Postgres did not stop cleanly", { error: (err as Error).message }));
  process.exit(code);
}

installProcessGuards({ logger, registry: new Registry(), onFatal: () => void stopAll("uncaught exception", 1) });
process.on("SIGINT", () => void stopAll("SIGINT", 0));
process.on("SIGTERM", () => void stopAll("SIGTERM", 0));

type Main = (env: Record<string, string | undefined>, host: AppHost) => Promise<void>;
// Loaded one by one, the BFF first: @hono/zod-openapi adds .openapi() to zod's schemas as it loads, and the BFF
// calls it on schemas from shared/ that another app would otherwise have made before that (its own process
// loads them in the right order).
const mains = new Map<AppName, Main>();
for (const app of [...APPS].sort((a, b) => Number(b.name === "bff") - Number(a.name === "bff"))) {
  mains.set(app.name, ((await import(`../${app.entry}`)) as { main: Main }).main);
}

await Promise.all(
  APPS.map(async (app, i) => {
    const { host, exited } = running[i]!;
    // An app that ends while the others run (it failed to start, or died) takes the stack down: dev.ts restarts it.
    void exited.then((code) => {
      if (!stopping) {
        logger.error(`${app.name} ended with exit code ${code}: stopping every app`);
        void stopAll(`${app.name} ended`, 1);
      }
    });
    await mains.get(app.name)!({ ...process.env, DEV_STACK: undefined, ...envs[app.name] }, host).catch((err) => {
      if (err instanceof AppExitedError) return; // it said why, and its host reported the exit
      logger.error(`${app.name} failed to start`, { error: (err as Error).message });
      host.exit(1);
    });
  }),
);
