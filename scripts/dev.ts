// `bun run dev`: checks that the apps' ports are free, makes sure a Redis answers (starting one for the session
// when none does and redis-server is installed), starts the apps, waits until each answers /ready, restarts what
// dies (scripts/supervisor.ts), and stops everything on Ctrl-C / SIGTERM / SIGHUP. By default every app runs in
// one child process with one embedded Postgres for all (scripts/stack.ts: a few hundred MB); `--processes`
// (or DEV_PROCESSES=1) starts each app as a process of its own, each with its own embedded database when it has
// no database URL, as in a deployment (about 2.8 GB; `bun run chaos` and the crash-restart tests use it).
import { fileURLToPath } from "node:url";
import { APPS, appEnv, type AppName, type Ports } from "./apps.ts";
import { authEnv, devAuthSecrets } from "./auth.ts";
import { portProblem } from "./ports.ts";
import { DEV_REDIS_URL, redisAnswers, redisServerOnPath, startSessionRedis, type SessionRedis } from "./redis.ts";
import { describeExit, supervise, type SupervisedApp } from "./supervisor.ts";
import { waitUntilReady } from "./wait-ready.ts";

// A first start with an empty embedded-database directory runs initdb (several seconds per app, five at once).
// DEV_READY_TIMEOUT_MS shortens it, so a test of an app that never starts need not wait a minute.
const DEFAULT_READY_TIMEOUT_MS = 60_000;
// Longer than the apps' own drain grace (10 s), so a clean shutdown is never cut short.
const STOP_GRACE_MS = 15_000;

const root = fileURLToPath(new URL("..", import.meta.url));
const processPerApp = process.argv.includes("--processes") || process.env.DEV_PROCESSES === "1";
const nameWidth = Math.max("redis".length, ...APPS.map((a) => a.name.length));
const say = (msg: string) => console.log(`${"dev".padEnd(nameWidth)} | ${msg}`);
const REDIS_MISSING = "notifications wait in the outbox until Redis is reachable";

function readPorts(): { ports: Ports; errors: string[] } {
  const ports = {} as Ports;
  const errors: string[] = [];
  for (const app of APPS) {
    const raw = process.env[app.portEnv];
    const port = raw ? Number(raw) : app.defaultPort;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) errors.push(`${app.portEnv} must be a port number (1-65535), got "${raw}"`);
    ports[app.name] = port;
  }
  for (const app of APPS) {
    const other = APPS.find((o) => o !== app && ports[o.name] === ports[app.name]);
    if (other && app.name < other.name) errors.push(`${app.name} and ${other.name} would both use port ${ports[app.name]}`);
  }
  if (errors.length) return { ports, errors };
  for (const app of APPS) {
    const problem = portProblem(ports[app.name]);
    if (problem) errors.push(`port ${ports[app.name]} (${app.name}) is ${problem}: stop what holds it, or set ${app.portEnv} to another port`);
  }
  return { ports, errors };
}

function readReadyTimeout(): { readyTimeoutMs: number; errors: string[] } {
  const raw = process.env.DEV_READY_TIMEOUT_MS;
  const readyTimeoutMs = raw ? Number(raw) : DEFAULT_READY_TIMEOUT_MS;
  const ok = Number.isInteger(readyTimeoutMs) && readyTimeoutMs >= 1;
  return { readyTimeoutMs, errors: ok ? [] : [`DEV_READY_TIMEOUT_MS must be a whole number of milliseconds, got "${raw}"`] };
}

const { readyTimeoutMs, errors: timeoutErrors } = readReadyTimeout();
const { ports, errors: portErrors } = readPorts();
const errors = [...timeoutErrors, ...portErrors];
if (errors.length) {
  for (const error of errors) console.error(`dev: ${error}`);
  console.error("dev: nothing was started");
  process.exit(1);
}

const apps: SupervisedApp[] = [];
let stopping = false;
let redisSession: SessionRedis | undefined;
let redisPreparing: Promise<unknown> = Promise.resolve();
const abortWaits = new AbortController();
const startedAt = performance.now();
const readyUrl = (name: keyof Ports) => `http://127.0.0.1:${ports[name]}/ready`;

async function stop(exitCode: number, reason: string) {
  if (stopping) return;
  stopping = true;
  abortWaits.abort();
  say(reason);
  const allStopped = Promise.all(apps.map((app) => app.stop()));
  const graceOver = Bun.sleep(STOP_GRACE_MS).then(() => "grace over" as const);
  if ((await Promise.race([allStopped, graceOver])) === "grace over") {
    for (const app of apps) {
      if (app.running) {
        say(`${app.name} still running after ${STOP_GRACE_MS / 1000} s, killing it`);
        app.kill();
      }
    }
  }
  await allStopped;
  // Only now: the notifications worker talks to Redis until it has drained.
  await redisPreparing.catch(() => {});
  await redisSession?.stop();
  // Let the last lines the apps wrote ("stopped") reach the terminal before exiting.
  await Promise.race([Promise.all(apps.map((app) => app.outputDone())), Bun.sleep(1000)]);
  for (const app of apps) if (app.exit && app.exit.code !== 0) say(`${app.name} ended with ${describeExit(app.exit)}`);
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  // Repeats are ignored: `bun run` forwards the terminal's Ctrl-C, so one key press arrives twice.
  process.on(signal, () => void stop(0, `${signal}: stopping all apps`));
}

// Last resort if this runner dies of an error: the apps are in their own process groups and would outlive it.
process.on("exit", () => {
  for (const app of apps) app.kill();
  redisSession?.kill();
});

/**
 * REDIS_URL as given; without it 127.0.0.1:6379, and when nothing answers there, a redis-server of the
 * session's own on that port. Everything else runs without Redis: the services keep events in their outbox.
 * Returns the line the summary prints for Redis.
 */
async function prepareRedis(): Promise<string> {
  const given = process.env.REDIS_URL;
  const url = given || DEV_REDIS_URL;
  if (await redisAnswers(url)) return `${url}${given ? " (REDIS_URL)" : ""}`;
  const installed = redisServerOnPath();
  if (!given && installed) {
    try {
      redisSession = await startSessionRedis(Number(new URL(DEV_REDIS_URL).port), (line) => console.log(`${"redis".padEnd(nameWidth)} | ${line}`));
      void redisSession.proc.exited.then((code) => {
        if (!stopping) say(`redis-server exited unexpectedly (exit code ${code}): ${REDIS_MISSING}`);
      });
      return `${url} (started for this session, nothing kept on disk)`;
    } catch (err) {
      say((err as Error).message);
    }
  }
  return `none answers at ${url}${given || installed ? "" : " and redis-server is not installed"}: ${REDIS_MISSING}`;
}

const preparing = prepareRedis();
redisPreparing = preparing;
const redisSummary = await preparing;
// A signal during the preparation: stop() owns the exit.
if (stopping) await new Promise(() => {});

// DEV_AUTH_DIR: where the signing key and the worker's secret are kept (tests point it at a temp directory).
const authSecrets = await devAuthSecrets(process.env.DEV_AUTH_DIR || `${root}.data/auth`);
/** Development defaults a deployment never gets: the status page's switches for inventory's demo knobs. */
const devEnv = (name: string): Record<string, string> =>
  name === "inventory" ? { INVENTORY_CHAOS_SWITCHES: process.env.INVENTORY_CHAOS_SWITCHES ?? "1" } : {};

const envOf = (name: AppName) => ({ ...devEnv(name), ...appEnv(name, ports), ...authEnv(name, authSecrets) });
if (processPerApp) {
  for (const app of APPS) {
    const prefix = `${app.name.padEnd(nameWidth)} | `;
    apps.push(
      supervise({
        name: app.name,
        cmd: [process.execPath, app.entry],
        cwd: root,
        env: { ...process.env, ...envOf(app.name) },
        onLine: (line, stream) => process[stream].write(prefix + line + "\n"),
        say,
        waitReady: (signal) => waitUntilReady(readyUrl(app.name), { timeoutMs: readyTimeoutMs, signal }),
      }),
    );
  }
} else {
  // One process for all: its lines come prefixed with the app that wrote them.
  const stackEnv = Object.fromEntries(APPS.map((app) => [app.name, envOf(app.name)]));
  apps.push(
    supervise({
      name: "stack",
      cmd: [process.execPath, "scripts/stack.ts"],
      cwd: root,
      env: { ...process.env, DEV_STACK: JSON.stringify(stackEnv) },
      onLine: (line, stream) => process[stream].write(line + "\n"),
      say,
      waitReady: async (signal) => void (await Promise.all(APPS.map((app) => waitUntilReady(readyUrl(app.name), { timeoutMs: readyTimeoutMs, signal })))),
    }),
  );
}
/** The supervised process an app runs in. */
const processOf = (i: number) => (processPerApp ? apps[i]! : apps[0]!);

// An app that dies meanwhile is restarted by its supervisor, and this keeps polling the same address.
const readiness = await Promise.allSettled(APPS.map((app) => waitUntilReady(readyUrl(app.name), { timeoutMs: readyTimeoutMs, signal: abortWaits.signal })));
const notReady = readiness.flatMap((result, i) => (result.status === "rejected" ? [{ name: APPS[i]!.name, proc: processOf(i), err: result.reason as Error }] : []));
if (notReady.length) {
  // A signal came meanwhile: stop() owns the exit.
  if (stopping) await new Promise(() => {});
  for (const { name, proc, err } of notReady) {
    const where = processPerApp ? "it" : "the stack process it runs in";
    const why = proc.lastCrash
      ? `${where} exited ${proc.crashes} time${proc.crashes === 1 ? "" : "s"}, the last time with ${describeExit(proc.lastCrash)} (its output is above, prefixed "${name}")`
      : err.message;
    say(`!! ${name} did not become ready within ${readyTimeoutMs / 1000} s: ${why}`);
  }
  await stop(1, `not all apps became ready within ${readyTimeoutMs / 1000} s; stopping all apps`);
}

const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
say(`all ${APPS.length} apps are ready (${seconds} s):`);
for (const app of APPS) say(`  ${app.name.padEnd(nameWidth)}  http://localhost:${ports[app.name]}`);
say(`  ${"redis".padEnd(nameWidth)}  ${redisSummary}`);
say("try (user1@storefront.test; the demo users are in the README):");
console.log(
  `TOKEN=$(curl -s localhost:${ports.bff}/auth/login -H 'content-type: application/json' ` +
    `-d '{"email":"user1@storefront.test","password":"storefront-demo"}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
);
console.log(`curl -s localhost:${ports.bff}/products/all -H "authorization: Bearer $TOKEN"`);
console.log(`curl -s localhost:${ports.bff}/notifications -H "authorization: Bearer $TOKEN"`);
say("check out user1's cart with a test card (tok_visa; tok_decline is declined), then see the order:");
console.log(
  `curl -s localhost:${ports.bff}/checkout -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -H "idempotency-key: demo-$(date +%s)" ` +
    `-d '{"shipping_address":{"name":"Ada Lovelace","line1":"12 Analytical St","city":"London","postal_code":"N1 9GU","country":"GB"},"card_token":"tok_visa"}'`,
);
console.log(`curl -s localhost:${ports.bff}/orders -H "authorization: Bearer $TOKEN"`);
say(`API docs: http://localhost:${ports.bff}/docs`);
say(`the shop in a browser: http://localhost:${ports.web} (log in as user1@storefront.test / storefront-demo)`);
say(`live status, with switches that break inventory: http://localhost:${ports.web}/status`);
say("Ctrl-C stops everything");
