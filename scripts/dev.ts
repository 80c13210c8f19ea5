// `bun run dev`: checks that the apps' ports are free, makes sure a Redis answers (starting one for the session
// when none does and redis-server is installed), starts the apps as child processes with their output prefixed
// by name, waits until each answers /ready, and stops them all on Ctrl-C / SIGTERM or when one dies.
import type { Subprocess } from "bun";
import { fileURLToPath } from "node:url";
import { APPS, appEnv, type AppSpec, type Ports } from "./apps.ts";
import { forEachLine } from "./lines.ts";
import { portProblem } from "./ports.ts";
import { DEV_REDIS_URL, redisAnswers, redisServerOnPath, startSessionRedis, type SessionRedis } from "./redis.ts";
import { waitUntilReady } from "./wait-ready.ts";

// A first start with an empty embedded-database directory runs initdb (several seconds per app, five at once).
const READY_TIMEOUT_MS = 60_000;
// Longer than the apps' own drain grace (10 s), so a clean shutdown is never cut short.
const STOP_GRACE_MS = 15_000;

const root = fileURLToPath(new URL("..", import.meta.url));
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

const { ports, errors } = readPorts();
if (errors.length) {
  for (const error of errors) console.error(`dev: ${error}`);
  console.error("dev: nothing was started");
  process.exit(1);
}

type Running = { app: AppSpec; proc: Subprocess<"ignore", "pipe", "pipe">; output: Promise<unknown> };
const running: Running[] = [];
let stopping = false;
let redisSession: SessionRedis | undefined;
let redisPreparing: Promise<unknown> = Promise.resolve();
const abortWaits = new AbortController();
const startedAt = performance.now();

function start(app: AppSpec): Running {
  const proc = Bun.spawn([process.execPath, app.entry], {
    cwd: root,
    env: { ...process.env, ...appEnv(app.name, ports) },
    // Own process group: Ctrl-C reaches only this runner, and each app gets exactly one SIGTERM from it
    // (a second signal during its drain would kill it with the default action).
    detached: true,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const prefix = `${app.name.padEnd(nameWidth)} | `;
  const output = Promise.all([
    forEachLine(proc.stdout, (line) => process.stdout.write(prefix + line + "\n")),
    forEachLine(proc.stderr, (line) => process.stderr.write(prefix + line + "\n")),
  ]);
  void proc.exited.then((code) => {
    if (!stopping) void stop(1, `${app.name} exited unexpectedly (${describeExit(proc, code)}); stopping the others`);
  });
  return { app, proc, output };
}

const describeExit = (proc: Subprocess, code: number | null) => (proc.signalCode ? `signal ${proc.signalCode}` : `exit code ${code}`);

async function stop(exitCode: number, reason: string) {
  if (stopping) return;
  stopping = true;
  abortWaits.abort();
  say(reason);
  for (const { proc } of running) if (proc.exitCode === null && !proc.signalCode) proc.kill("SIGTERM");
  const allExited = Promise.all(running.map((r) => r.proc.exited));
  const graceOver = Bun.sleep(STOP_GRACE_MS).then(() => "grace over" as const);
  if ((await Promise.race([allExited, graceOver])) === "grace over") {
    for (const { app, proc } of running) {
      if (proc.exitCode === null && !proc.signalCode) {
        say(`${app.name} still running after ${STOP_GRACE_MS / 1000} s, killing it`);
        proc.kill("SIGKILL");
      }
    }
  }
  await allExited;
  // Only now: the notifications worker talks to Redis until it has drained.
  await redisPreparing.catch(() => {});
  await redisSession?.stop();
  // Let the last lines the apps wrote ("stopped") reach the terminal before exiting.
  await Promise.race([Promise.all(running.map((r) => r.output)), Bun.sleep(1000)]);
  for (const { app, proc } of running) if (proc.exitCode !== 0) say(`${app.name} ended with ${describeExit(proc, proc.exitCode)}`);
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  // Repeats are ignored: `bun run` forwards the terminal's Ctrl-C, so one key press arrives twice.
  process.on(signal, () => void stop(0, `${signal}: stopping all apps`));
}

// Last resort if this runner dies of an error: the apps are in their own process groups and would outlive it.
process.on("exit", () => {
  for (const { proc } of running) if (proc.exitCode === null && !proc.signalCode) proc.kill("SIGKILL");
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

for (const app of APPS) running.push(start(app));

try {
  await Promise.all(
    APPS.map((app) =>
      waitUntilReady(`http://127.0.0.1:${ports[app.name]}/ready`, { timeoutMs: READY_TIMEOUT_MS, signal: abortWaits.signal }).catch((err) => {
        throw new Error(`${app.name} did not become ready: ${(err as Error).message}`);
      }),
    ),
  );
} catch (err) {
  // Already stopping (a child died or a signal came): stop() owns the exit.
  if (!stopping) await stop(1, (err as Error).message);
  await new Promise(() => {});
}

const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
say(`all ${APPS.length} apps are ready (${seconds} s):`);
for (const app of APPS) say(`  ${app.name.padEnd(nameWidth)}  http://localhost:${ports[app.name]}`);
say(`  ${"redis".padEnd(nameWidth)}  ${redisSummary}`);
say("try:");
console.log(`curl -s localhost:${ports.bff}/products/all -H 'x-user-id: 1'`);
console.log(`curl -s localhost:${ports.bff}/notifications -H 'x-user-id: 1'`);
say("Ctrl-C stops everything");
