// Starting the real apps for a cross-service test: a clean environment, fresh databases and a BullMQ prefix of
// the run's own on the test Redis, cleanup after.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APPS, appEnv, type AppName, type Ports } from "../../scripts/apps.ts";
import { authEnv, freshAuthSecrets, type AuthSecrets } from "../../scripts/auth.ts";
import { redisAnswers } from "../../scripts/redis.ts";
import { waitUntilReady } from "../../scripts/wait-ready.ts";
import { createTestDatabase } from "../../shared/src/testing/test-database.ts";
import { deletePrefix, testRedisUrl, uniquePrefix } from "../../shared/src/testing/test-redis.ts";
import { freePorts } from "./free-ports.ts";
import { startProcess, type TestProcess } from "./processes.ts";

export const usesRealPostgres = Boolean(process.env.TEST_DATABASE_URL);
// First start of five embedded databases at once (initdb each) on a small machine is slow.
export const READY_TIMEOUT_MS = usesRealPostgres ? 30_000 : 120_000;

// REDIS_URL stays: it names the test Redis (shared/src/testing/test-redis.ts).
const appPrefixes = [
  ...APPS.map((a) => `${a.name.toUpperCase()}_`),
  "NOTIFY_",
  "WORKER_",
  "AUTH_",
  "SERVICE_",
  "RATE_LIMIT_",
  "PASSWORD_",
  "ACCESS_TOKEN_",
  "REFRESH_TOKEN_",
  "SAGA_",
  "CHECKOUT_",
  "RESERVATION_",
  "PAYMENT_",
];
const appKeys = ["PORT", "WRITE_DEADLINE_MS", "QUEUE_PREFIX", "SHUTDOWN_GRACE_MS", "LOG_LEVEL", "CORS_ORIGINS", "TRUSTED_PROXIES"];

/** Hashing at the lowest cost: tests register and log in many users; the seeded users' hashes keep theirs. */
const FAST_PASSWORDS = { PASSWORD_MEMORY_KIB: "1024", PASSWORD_TIME_COST: "1" };

/** The test's environment without any app settings the developer may have exported (ports, URLs, demo knobs, queue prefix). */
export function cleanEnv(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (appKeys.includes(key) || appPrefixes.some((p) => key.startsWith(p))) delete env[key];
  }
  return env;
}

export type QueueSpace = { prefix: string; env: { REDIS_URL: string; QUEUE_PREFIX: string }; cleanup: () => Promise<void> };

/**
 * A BullMQ prefix of the run's own on the test Redis, so the apps' jobs never mix with another run's or with
 * `bun run dev`'s; cleanup deletes its keys (call it after the apps have stopped). Harmless without Redis.
 */
export function freshQueue(label: string): QueueSpace {
  const prefix = uniquePrefix(`test-${label}`);
  return {
    prefix,
    env: { REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix },
    cleanup: async () => {
      if (await redisAnswers(testRedisUrl)) await deletePrefix(testRedisUrl, prefix);
    },
  };
}

export type Storage = { env: Record<string, string>; cleanup: () => Promise<void> };

/** A fresh database per app (or per app in `only`): on TEST_DATABASE_URL's server when given, else embedded ones in a temp directory. */
export async function freshStorage(label: string, only?: AppName[]): Promise<Storage> {
  const dbApps = APPS.filter((a) => a.hasDatabase && (!only || only.includes(a.name)));
  if (usesRealPostgres) {
    const created = await Promise.allSettled(dbApps.map((a) => createTestDatabase(`${label}_${a.name}`)));
    const dbs = created.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const cleanup = async () => void (await Promise.allSettled(dbs.map((db) => db.drop())));
    const failed = created.find((r) => r.status === "rejected");
    if (failed) {
      await cleanup();
      throw failed.reason;
    }
    return { env: Object.fromEntries(dbApps.map((a, i) => [`${a.name.toUpperCase()}_DATABASE_URL`, dbs[i]!.url])), cleanup };
  }
  const dir = mkdtempSync(join(tmpdir(), `storefront-${label}-`));
  return {
    env: Object.fromEntries(dbApps.map((a) => [`${a.name.toUpperCase()}_DATA_DIR`, join(dir, a.name)])),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function pickPorts(): Ports {
  const ports = freePorts(APPS.length);
  return Object.fromEntries(APPS.map((a, i) => [a.name, ports[i]!])) as Ports;
}

/**
 * Starts every app as `bun apps/<name>/src/index.ts` with `env` (storage, queue, knobs) and waits until all
 * answer /ready. `auth`: the signing key and worker secret (fresh ones by default).
 */
export async function startApps(ports: Ports, env: Record<string, string>, auth?: AuthSecrets): Promise<TestProcess[]> {
  const secrets = auth ?? (await freshAuthSecrets());
  const procs = APPS.map((a) => startProcess(a.name, [a.entry], appProcessEnv(a.name, ports, env, secrets)));
  const giveUp = new AbortController();
  try {
    await Promise.all(
      APPS.map(async (a, i) => {
        const proc = procs[i]!;
        let started = false;
        const exited = proc.proc.exited.then((code) => {
          if (!started) throw new Error(`${a.name} exited with ${code} during start-up:\n${proc.output.slice(-20).join("\n")}`);
        });
        const url = `http://127.0.0.1:${ports[a.name]}/ready`;
        await Promise.race([waitUntilReady(url, { timeoutMs: READY_TIMEOUT_MS, signal: giveUp.signal }), exited]);
        started = true;
      }),
    );
  } catch (err) {
    giveUp.abort();
    await stopAll(procs);
    throw err;
  }
  return procs;
}

/** The whole environment startApps gives one app: to start it again by itself (e.g. after killing it). */
export const appProcessEnv = (name: AppName, ports: Ports, env: Record<string, string>, secrets: AuthSecrets) => ({
  ...cleanEnv(),
  ...FAST_PASSWORDS,
  ...env,
  ...appEnv(name, ports),
  ...authEnv(name, secrets),
});

export const stopAll = async (procs: TestProcess[]) => void (await Promise.all(procs.map((p) => p.stop())));

/** The variables `bun run dev` reads to move each app to another port. */
export const portEnv = (ports: Ports): Record<string, string> =>
  Object.fromEntries(APPS.map((a) => [a.portEnv, String(ports[a.name])]));
