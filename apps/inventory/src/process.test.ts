// The inventory service as a real process (`bun apps/inventory/src/index.ts`) with a short reservation TTL and
// sweep interval: a reservation nobody commits gives its stock back by itself (and the relay publishes the
// stock.back_in_stock that follows), and SIGTERM while the sweeper is busy ends the process cleanly, exit 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventQueues, type EventQueues } from "@storefront/shared/outbox/event-queues";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { cleanEnv } from "../../../tests/support/stack.ts";

const ENTRY = "apps/inventory/src/index.ts";
// Without TEST_DATABASE_URL the process starts an embedded Postgres of its own (initdb takes a while).
const READY_TIMEOUT_MS = process.env.TEST_DATABASE_URL ? 30_000 : 120_000;
const redisUp = await requireRedis("inventory process");
const issuer = await createTestIssuer();
const prefix = uniquePrefix("inventory-process");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let proc: TestProcess;
let url: string;
let queues: EventQueues;
let asService: Record<string, string>;
/** The process's database when it is on a server the test can read too. */
let db: TestDatabase | undefined;

/** A database the process opens itself: on TEST_DATABASE_URL's server, else an embedded one in a temp dir. */
async function storage(): Promise<Record<string, string>> {
  if (process.env.TEST_DATABASE_URL) {
    db = await createTestDatabase("inventory_process");
    cleanups.push(db.drop);
    return { INVENTORY_DATABASE_URL: db.url };
  }
  const dir = mkdtempSync(join(tmpdir(), "storefront-inventory-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { INVENTORY_DATA_DIR: dir };
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

/** `connection: close`: no idle keep-alive connection for the process to wait on when it stops. */
async function call(method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { ...asService, connection: "close" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

/** Polls `check` until it holds, for at most `ms`: a bounded wait instead of a fixed sleep. */
async function eventually(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms\n${proc.output.slice(-20).join("\n")}`);
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  if (!redisUp) return;
  asService = await issuer.auth("orders", "service");
  const env = cleanEnv();
  for (const key of Object.keys(env)) if (key.startsWith("RESERVATION_")) delete env[key];
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  proc = startProcess("inventory", [ENTRY], {
    ...env,
    ...(await storage()),
    PORT: String(port),
    REDIS_URL: testRedisUrl,
    QUEUE_PREFIX: prefix,
    USERS_URL: startJwksStub(),
    RESERVATION_TTL_MS: "300",
    RESERVATION_SWEEP_MS: "100",
    LOG_LEVEL: "info",
  });
  await Promise.race([
    waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
    proc.proc.exited.then((code) => Promise.reject(new Error(`inventory exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
  ]);
  queues = createEventQueues({ redisUrl: testRedisUrl, prefix });
}, READY_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await proc?.stop();
  await queues?.close();
  if (redisUp) await deletePrefix(testRedisUrl, prefix);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(!redisUp)("the inventory process, running", () => {
  test("a reservation nobody commits expires, its stock comes back by itself, and back_in_stock reaches the queue", async () => {
    // Product 5 is seeded with 3: reserving all of it takes it to 0, so its return is a back-in-stock.
    const reserved = await call("POST", "/reservations", { order_id: 1, items: [{ product_id: 5, quantity: 3 }] });
    expect(reserved.status).toBe(201);
    expect(reserved.body.status).toBe("active");

    await eventually(async () => (await call("GET", "/products/5/inventory")).body.inventory === 3);
    expect((await call("GET", "/products/5/inventory")).body).toEqual({ product_id: 5, inventory: 3, on_hand: 3, reserved: 0 });
    expect((await call("GET", "/reservations/1")).body.status).toBe("expired");
    expect((await call("POST", "/reservations/1/commit")).body.error.code).toBe("RESERVATION_EXPIRED");

    const notifications = queues.queues.notifications!;
    await eventually(async () => (await notifications.getJobs()).some((job) => job.data.type === "stock.back_in_stock"));
    const [job] = (await notifications.getJobs()).filter((job) => job.data.type === "stock.back_in_stock");
    expect(job!.data.payload).toEqual({ product_id: 5, inventory: 3 });
  });

  test("SIGTERM while the sweeper is busy: the process exits 0 within a few seconds, nothing half done", async () => {
    // Product 4 is seeded with 250: 200 reservations of 1, all due within the TTL, make two full sweeps.
    const ids = Array.from({ length: 200 }, (_, i) => 1000 + i);
    for (let i = 0; i < ids.length; i += 20) {
      const answers = await Promise.all(ids.slice(i, i + 20).map((id) => call("POST", "/reservations", { order_id: id, items: [{ product_id: 4, quantity: 1 }] })));
      expect(answers.map((a) => a.status)).toEqual(Array(answers.length).fill(201));
    }
    const linesBefore = proc.output.length;
    // Stop as soon as the sweeper has begun on them.
    await eventually(async () => proc.output.slice(linesBefore).some((line) => line.includes("reservations expired")));
    proc.proc.kill("SIGTERM");
    expect(await proc.exitWithin(5_000)).toBe(0);
    expect(proc.output.some((line) => line.includes('"stopped"'))).toBe(true);
    expect(proc.output.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    if (db) {
      // Whatever the last pass managed, what is held is exactly what the active reservations hold.
      const [row] = await db.sql<{ reserved: number; active: number; expired: number }[]>`
        select (select reserved from stock where product_id = 4) as reserved,
               (select count(*)::int from reservations where status = 'active' and order_id >= 1000) as active,
               (select count(*)::int from reservations where status = 'expired' and order_id >= 1000) as expired`;
      expect(row!.reserved).toBe(row!.active);
      expect(row!.active + row!.expired).toBe(200);
      expect(row!.expired).toBeGreaterThan(0);
    }
  });
});
