// Runs the real notifications service (`bun apps/notifications/src/index.ts`) as a child process for
// kill/restart/shutdown tests: its own database (on TEST_DATABASE_URL's server, else an embedded one in a
// temp directory that survives the process), its own BullMQ prefix, and the stub upstreams (the users stub's
// serviceEnv gives it USERS_URL and its client credentials).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import type { TestIssuer } from "@storefront/shared/testing/token-issuer";
import { testRedisUrl } from "@storefront/shared/testing/test-redis";
import { waitUntilReady } from "../../../../scripts/wait-ready.ts";
import { freePort } from "../../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../../tests/support/processes.ts";

export const ENTRY = "apps/notifications/src/index.ts";
export const READY_TIMEOUT_MS = process.env.TEST_DATABASE_URL ? 30_000 : 120_000;

export type Storage = { env: Record<string, string>; cleanup: () => Promise<void> };

/** A database for the service that outlives one process, so a restarted process sees what the first wrote. */
export async function serviceStorage(): Promise<Storage> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await createTestDatabase("notifications_process");
    // The service opens its own pool; the test reads through the service's HTTP API.
    return { env: { NOTIFICATIONS_DATABASE_URL: db.url }, cleanup: db.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), "storefront-notifications-"));
  return { env: { NOTIFICATIONS_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

export type ServiceProcess = TestProcess & { url: string };

/** The parent's environment without any notifications setting a developer may have exported, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(PORT|NOTIFICATIONS_|NOTIFY_|QUEUE_PREFIX|FAVORITES_|CART_|WORKER_|SHUTDOWN_|USERS_URL|SERVICE_CLIENT_)/.test(key)) delete base[key];
  }
  return { ...base, REDIS_URL: testRedisUrl, ...env };
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = freePort();
  const proc = startProcess("notifications", [ENTRY], childEnv({ ...env, PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
    proc.proc.exited.then((code) => Promise.reject(new Error(`notifications exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
  ]);
  await proc.waitForLine(/"worker ready"/, 10_000);
  return Object.assign(proc, { url });
}

/** Runs the service and returns how it ended, for start-up refusals. */
export async function runServiceToExit(env: Record<string, string>, timeoutMs = 20_000) {
  const proc = startProcess("notifications", [ENTRY], childEnv({ ...env, PORT: String(freePort()) }));
  const code = await proc.exitWithin(timeoutMs);
  return { code, output: proc.output.join("\n") };
}

/** The user's inbox as the user reads it: with their own token, signed by the users stub's `issuer`. */
export async function inboxOf(service: ServiceProcess, userId: number, issuer: TestIssuer): Promise<{ id: number; title: string }[]> {
  const res = await fetch(`${service.url}/users/${userId}/notifications?limit=100`, { headers: { ...(await issuer.auth(userId)), connection: "close" } });
  if (!res.ok) throw new Error(`inbox of ${userId}: ${res.status}`);
  return (await res.json()) as { id: number; title: string }[];
}
