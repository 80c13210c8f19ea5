// The delivery service as a real process (`bun apps/delivery/src/index.ts`). It starts while its Redis (a private
// redis-server, never the shared one) is down: HTTP serves at once, the consumer waits, and once Redis is up the
// order events are applied and the relay publishes delivery.assigned to the orders and notifications queues.
// Bad input is a 4xx envelope and the process keeps serving; SIGTERM ends it with 0; a bad setting is exit 1
// with one JSON line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { DELIVERY_QUEUE, EVENT_JOB_OPTIONS, NOTIFICATIONS_QUEUE, ORDERS_QUEUE, workerRedisOptions } from "@storefront/shared/notifications/events";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { redisServerInstalled, startPrivateRedis, uniquePrefix, type PrivateRedis } from "@storefront/shared/testing/test-redis";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { orderEvents } from "./testing/worker-harness.ts";

const ENTRY = "apps/delivery/src/index.ts";
// Without TEST_DATABASE_URL the process starts an embedded Postgres of its own (initdb takes a while).
const READY_TIMEOUT_MS = process.env.TEST_DATABASE_URL ? 30_000 : 120_000;

if (!redisServerInstalled()) {
  if (process.env.CI === "true") throw new Error("CI=true: the delivery process tests need redis-server on PATH");
  console.warn("skipping the delivery process tests: redis-server is not installed (Debian package redis-server)");
}

const issuer = await createTestIssuer();
const started: TestProcess[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** The parent's environment without any delivery setting a developer may have exported, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(PORT|LOG_LEVEL|DELIVERY_|QUEUE_PREFIX|REDIS_URL|USERS_URL|WORKER_|SHUTDOWN_)/.test(key)) delete base[key];
  }
  return { ...base, ...env };
}

const run = (env: Record<string, string>) => {
  const proc = startProcess("delivery", [ENTRY], childEnv(env));
  started.push(proc);
  return proc;
};

/** A database the process opens itself: on TEST_DATABASE_URL's server, else an embedded one in a temp dir. */
async function storage(): Promise<Record<string, string>> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await createTestDatabase("delivery_process");
    cleanups.push(db.drop);
    return { DELIVERY_DATABASE_URL: db.url };
  }
  const dir = mkdtempSync(join(tmpdir(), "storefront-delivery-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { DELIVERY_DATA_DIR: dir };
}

/** The stand-in users service: only its published keys, which the process fetches to check tokens. */
function startJwksStub() {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => (new URL(req.url).pathname === "/.well-known/jwks.json" ? Response.json(issuer.jwks) : new Response(null, { status: 404 })),
  });
  cleanups.push(() => server.stop(true));
  return `http://127.0.0.1:${server.port}`;
}

async function eventually(what: string, check: () => Promise<boolean>, proc: TestProcess, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${proc.output.slice(-20).join("\n")}`);
    await Bun.sleep(50);
  }
}

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(!redisServerInstalled())("the delivery process, started while Redis is down", () => {
  const redisPort = freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const prefix = uniquePrefix("delivery-process");
  let redis: PrivateRedis | undefined;
  let proc: TestProcess;
  let url: string;

  beforeAll(async () => {
    const port = freePort();
    url = `http://127.0.0.1:${port}`;
    proc = run({ ...(await storage()), PORT: String(port), REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, USERS_URL: startJwksStub(), LOG_LEVEL: "info" });
    await Promise.race([
      waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
      proc.proc.exited.then((code) => Promise.reject(new Error(`delivery exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
    ]);
  }, READY_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await proc?.stop();
    await redis?.stop();
  });

  /** `connection: close`: no idle keep-alive connection for the process to wait on when it stops. */
  const call = async (method: string, path: string, init: { role?: "admin" | "courier"; sub?: number; body?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...(await issuer.auth(init.sub ?? 6, init.role ?? "admin")), connection: "close", ...init.headers };
    if (init.body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(url + path, { method, headers, body: init.body });
    const text = await res.text();
    return { status: res.status, text, body: text.startsWith("{") || text.startsWith("[") ? (JSON.parse(text) as any) : null };
  };

  test("HTTP serves while Redis is down; the consumer waits and says so once; once Redis is up it applies the events and the relay publishes", async () => {
    expect((await call("GET", "/couriers")).status).toBe(200);
    expect((await call("GET", "/deliveries")).body).toEqual({ deliveries: [], next_after: null });
    await proc.waitForLine(/Redis is unreachable/, 10_000);

    redis = await startPrivateRedis(redisPort);
    const connection = new Redis(...workerRedisOptions(redisUrl));
    const queues = [DELIVERY_QUEUE, ORDERS_QUEUE, NOTIFICATIONS_QUEUE].map((name) => new Queue(name, { connection, prefix }));
    const [delivery, orders, notifications] = queues as [Queue, Queue, Queue];
    try {
      for (const event of [orderEvents.created(1, 5), orderEvents.paid(1, 5)]) await delivery.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id });
      await eventually("the delivery activated", async () => (await call("GET", "/deliveries/1")).body?.status === "activated", proc);
      await proc.waitForLine(/"worker ready"/, 10_000);

      const assigned = await call("POST", "/deliveries/1/courier", { body: JSON.stringify({ courier_id: 1 }) });
      expect(assigned.status).toBe(200);
      const payload = { order_id: 1, user_id: 5, courier_id: 1, courier_name: "Courier One" };
      for (const queue of [orders, notifications]) {
        await eventually(`delivery.assigned on ${queue.name}`, async () => (await queue.getJobs()).some((j) => j.name === "delivery.assigned"), proc);
        expect((await queue.getJobs()).find((j) => j.name === "delivery.assigned")!.data).toMatchObject({ type: "delivery.assigned", payload });
      }
      // The outage was reported once, not per reconnect attempt.
      expect(proc.output.filter((line) => line.includes("Redis is unreachable"))).toHaveLength(1);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
    }
  });

  test("malformed JSON, a wrong content type and an oversized body: 4xx in the envelope, no stack, and the process keeps serving", async () => {
    const malformed = await call("POST", "/deliveries/1/courier", { body: '{"courier_id": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("BAD_REQUEST");
    const notJson = await call("POST", "/deliveries/1/courier", { body: "courier_id=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("BAD_REQUEST");
    const oversized = await call("POST", "/deliveries/1/courier", { body: JSON.stringify({ courier_id: 1, pad: "x".repeat(200_000) }) });
    expect(oversized.status).toBe(413);
    expect(oversized.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    for (const answer of [malformed, notJson, oversized]) expect(answer.text).not.toContain("    at ");
    expect((await call("GET", "/deliveries/1")).status).toBe(200);
  });

  test("SIGTERM: the process stops the consumer, drains, exits 0 with no error logged", async () => {
    proc.proc.kill("SIGTERM");
    expect(await proc.exitWithin(10_000)).toBe(0);
    expect(proc.output.some((line) => line.includes("worker stopped"))).toBe(true);
    expect(proc.output.some((line) => line.includes('"stopped"'))).toBe(true);
    expect(proc.output.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  });
});

describe("the delivery process, refusing to start", () => {
  /** Every line the process wrote, stdout and stderr, once it has exited. */
  async function exitOf(env: Record<string, string>) {
    const proc = run({ PORT: String(freePort()), DELIVERY_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", ...env });
    const code = await proc.exitWithin(20_000);
    await Bun.sleep(50); // the last lines
    return { code, lines: proc.output.filter((line) => line.trim() !== "") };
  }

  for (const [setting, value] of [
    ["PORT", "eighty"],
    ["WORKER_CONCURRENCY", "0"],
    ["REDIS_URL", "not a url"],
    ["LOG_LEVEL", "loud"],
  ] as const) {
    test(`${setting}=${value}: exit 1 with one JSON line naming it, no stack`, async () => {
      const { code, lines } = await exitOf({ [setting]: value });
      expect(code).toBe(1);
      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0]!);
      expect(entry).toMatchObject({ level: "error", service: "delivery" });
      expect(lines[0]).toContain(setting);
      expect(entry).not.toHaveProperty("stack");
    });
  }

  test("a database that does not answer: exit 1 with one line saying so", async () => {
    const { code, lines } = await exitOf({});
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: "cannot start: the database does not answer" });
  });
});
