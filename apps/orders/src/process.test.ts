// The real orders process (`bun apps/orders/src/index.ts`) against faults that arrive through real sockets,
// with real timing: an upstream that never answers, one that drops the connection mid-charge, one that refuses
// connections, the users service away at start-up, SIGTERM while a charge is slow, start-up refusals and bad
// input. The services it calls are in-memory stand-ins behind fault proxies (testing/upstream-stand-ins.ts);
// its database and Redis are real. Each test with a running process ends by checking it is still up
// (/health 200) and logged no unhandled rejection or exception.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { createFaultProxy } from "@storefront/shared/testing/fault-proxy";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { pollUntil } from "../../../tests/support/poll.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess } from "../../../tests/support/processes.ts";
import { CHECKOUT_WAIT_MS, ENTRY, expectUp, ordersEnv, runOrdersToExit, startOrders, type OrdersProcess } from "./testing/orders-process.ts";
import { DEFAULT_CART_TOTAL, SLOW_CARD, startStandIns, type StandIns } from "./testing/upstream-stand-ins.ts";

const redisUp = await requireRedis("the orders process fault tests");
// The tests read the process's database to see what it wrote (or did not); an embedded one lives inside the
// child process, out of reach. Under CI=true createTestDatabase refuses to run without a server anyway.
const onServer = Boolean(process.env.TEST_DATABASE_URL);
if (!onServer) console.warn("skipping the orders process fault tests: they need TEST_DATABASE_URL (a Postgres server the test can read too)");
const enabled = redisUp && onServer;

/** A saga ending after a fault: the slowest path is a breaker's 5 s pause plus a backoff of a few seconds. */
const SETTLE_MS = 45_000;
/** On top of CHECKOUT_WAIT_MS: the reads, the order's transaction and storing the answer, on a busy machine. */
const ANSWER_MARGIN_MS = 4000;
/** serveApp's drain grace (shared/src/serve.ts): SIGTERM must end the process within it. */
const GRACE_MS = 10_000;
/** Test timeouts above the sum of a test's own bounded waits, so the wait that ran out is what gets reported. */
const ONE_PROCESS_MS = 120_000;
const TWO_PROCESSES_MS = 180_000;
/** One HTTP call to the process: far above any answer it should give, so a hang fails the test with a reason. */
const CALL_TIMEOUT_MS = 15_000;

const ADDRESS = { name: "Ada Lovelace", line1: "12 Analytical St", city: "London", postal_code: "N1 9GU", country: "GB" };
const prefix = uniquePrefix("orders-process");
const processes: OrdersProcess[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (redisUp) await deletePrefix(testRedisUrl, prefix);
}, 60_000);

async function database(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  cleanups.push(db.drop);
  return db;
}

async function standIns(): Promise<StandIns> {
  const stubs = await startStandIns();
  cleanups.push(stubs.stop);
  return stubs;
}

async function launch(db: TestDatabase, stubs: StandIns): Promise<OrdersProcess> {
  const proc = await startOrders({ ORDERS_DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...stubs.env });
  processes.push(proc);
  return proc;
}

/**
 * A process of the test's own, with its own database and stand-ins: a fault in one test must not reach the
 * next through the process's state (a breaker a test opened stays open for 5 s; a sweeper resumes any due saga
 * in its database).
 */
async function freshOrders(label: string) {
  const db = await database(label);
  const stubs = await standIns();
  return { db, stubs, orders: await launch(db, stubs) };
}

type Answer = { status: number; body: any; headers: Headers; ms: number };

/**
 * One request, bounded by CALL_TIMEOUT_MS (a timer of its own: Bun does not always honour a fetch timeout).
 * `connection: close`: no idle keep-alive connection for a process to wait on when it stops.
 */
async function call(proc: OrdersProcess, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const started = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${method} ${path}: no answer within ${CALL_TIMEOUT_MS} ms${tail(proc)}`)), CALL_TIMEOUT_MS);
  try {
    const res = await fetch(`${proc.url}${path}`, { method, headers: { connection: "close", ...init.headers }, body: init.body, signal: controller.signal });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // left as text: the assertions on it will say what came back
    }
    return { status: res.status, body, headers: res.headers, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

async function checkout(proc: OrdersProcess, stubs: StandIns, userId: number, key: string, card = "tok_visa") {
  return call(proc, "POST", `/users/${userId}/orders`, {
    headers: { ...(await stubs.issuer.auth(userId)), "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ shipping_address: ADDRESS, card_token: card }),
  });
}

async function orderOf(proc: OrdersProcess, stubs: StandIns, userId: number, orderId: number) {
  const answer = await call(proc, "GET", `/users/${userId}/orders/${orderId}`, { headers: await stubs.issuer.auth(userId) });
  expect(answer.status).toBe(200);
  return answer.body;
}

const tail = (proc: OrdersProcess) => `\n--- last output of orders ---\n${proc.output.slice(-15).join("\n")}`;

/** `wait`, with the process's last lines added to its error: what it was doing while the thing did not happen. */
async function explained<T>(proc: OrdersProcess, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message}${tail(proc)}`);
  }
}

/** Waits, without placing or retrying anything, until the order's saga has ended; returns the order. */
const settled = (proc: OrdersProcess, stubs: StandIns, userId: number, orderId: number) =>
  explained(
    proc,
    pollUntil(`order ${orderId} confirmed or cancelled`, SETTLE_MS, async () => {
      const order = await orderOf(proc, stubs, userId, orderId);
      return order.status === "confirmed" || order.status === "cancelled" ? order : undefined;
    }, 100),
  );

type SagaRow = { status: string; step: string; attempts: number; lease_owner: string | null; failure_code: string | null };
const sagaRow = async (db: TestDatabase, orderId: number) =>
  (await db.sql<SagaRow[]>`select status, step, attempts, lease_owner, failure_code from orders where order_id = ${orderId}`)[0]!;
const retries = async (db: TestDatabase, orderId: number, step: string, since = new Date(0)) =>
  db.sql<{ detail: string }[]>`select detail from saga_log where order_id = ${orderId} and step = ${step} and outcome = 'retrying' and at >= ${since} order by id`;

/** The error envelope, and nothing that looks like a stack trace in it. */
function expectEnvelope(answer: Answer, status: number, code: string) {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(typeof answer.body.error.message).toBe("string");
  expect(JSON.stringify(answer.body)).not.toMatch(/\bat .+:\d+:\d+|"stack"/);
}

describe.skipIf(!enabled)("the orders process, faults at the services it calls", () => {
  test("inventory blackholed during checkout: 202 pending within CHECKOUT_WAIT_MS and a margin; once inventory is back the sweeper confirms the order by itself", async () => {
    const { db, stubs, orders } = await freshOrders("orders_inventory_blackhole");
    const userId = 101;
    await stubs.fault("inventory", { kind: "blackhole" });
    const placed = await checkout(orders, stubs, userId, "blackhole-1");
    expect(placed.status).toBe(202);
    expect(placed.body).toEqual({ order_id: expect.any(Number), status: "pending" });
    const orderId: number = placed.body.order_id;
    expect(placed.headers.get("location")).toBe(`/orders/${orderId}`);
    expect(placed.ms).toBeLessThan(CHECKOUT_WAIT_MS + ANSWER_MARGIN_MS);
    expect(stubs.proxies.inventory.requests).toBeGreaterThan(0); // the reservation went out and was swallowed

    // Heal only once the checkout's own drive has given up (its in-process retries spent, the lease let go),
    // so what finishes the order is the sweeper.
    await explained(
      orders,
      pollUntil(`the checkout's drive of order ${orderId} gave up`, 20_000, async () => {
        const row = await sagaRow(db, orderId);
        return row.attempts >= 3 && row.lease_owner === null ? row : undefined;
      }),
    );
    expect(await sagaRow(db, orderId)).toMatchObject({ status: "pending", step: "reserve", failure_code: null });
    await stubs.fault("inventory", { kind: "pass" });

    const order = await settled(orders, stubs, userId, orderId);
    expect(order).toMatchObject({ status: "confirmed", total_cents: DEFAULT_CART_TOTAL });
    expect(stubs.effectsOf(orderId)).toEqual(["reserve", "charge", "commit", "clear"]);
    await expectUp(orders);
    await orders.stop();
  }, ONE_PROCESS_MS);

  test("payments dropping the connection mid-charge, then resetting every connection, then healthy: one charge, confirmed", async () => {
    const { db, stubs, orders } = await freshOrders("orders_payments_reset");
    const userId = 102;
    // The charge takes effect at payments; then every connection to it is cut before the answer leaves, and
    // new ones are reset: orders cannot learn the outcome until payments is healthy again.
    stubs.afterCharge = async () => {
      stubs.afterCharge = undefined;
      await stubs.fault("payments", { kind: "reset" });
    };
    const placed = await checkout(orders, stubs, userId, "reset-1");
    expect(placed.status).toBe(202);
    const orderId: number = placed.body.order_id;

    await explained(orders, pollUntil(`order ${orderId}'s charge retried`, 20_000, async () => ((await retries(db, orderId, "charge")).length >= 1 ? true : undefined)));
    expect(stubs.proxies.payments.mode.kind).toBe("reset");
    expect((await sagaRow(db, orderId)).status).toBe("pending");
    await stubs.fault("payments", { kind: "pass" });

    const order = await settled(orders, stubs, userId, orderId);
    expect(order.status).toBe("confirmed");
    expect(stubs.payments.filter((p) => p.order_id === orderId).map((p) => p.status)).toEqual(["succeeded"]);
    expect(stubs.effectsOf(orderId)).toEqual(["reserve", "charge", "commit", "clear"]);
    await expectUp(orders);
    await orders.stop();
  }, ONE_PROCESS_MS);

  test("cart refusing connections: 503 UPSTREAM_UNAVAILABLE, nothing written, and the same key succeeds once cart is back", async () => {
    const { db, stubs, orders } = await freshOrders("orders_cart_refused");
    const userId = 103;
    await stubs.fault("cart", { kind: "refused" });
    const refused = await checkout(orders, stubs, userId, "cart-down-1");
    expectEnvelope(refused, 503, "UPSTREAM_UNAVAILABLE");
    expect(refused.headers.get("retry-after")).toBe("1");

    expect((await call(orders, "GET", `/users/${userId}/orders`, { headers: await stubs.issuer.auth(userId) })).body).toEqual({ orders: [], next_after: null });
    const [written] = await db.sql<{ orders: number; keys: number }[]>`
      select (select count(*)::int from orders where user_id = ${userId}) as orders,
             (select count(*)::int from idempotency_keys where user_id = ${userId}) as keys`;
    expect(written).toEqual({ orders: 0, keys: 0 });

    await stubs.fault("cart", { kind: "pass" });
    const placed = await checkout(orders, stubs, userId, "cart-down-1");
    // 201 when the saga ends within CHECKOUT_WAIT_MS; on a slow machine 202 and it ends shortly after.
    expect([201, 202]).toContain(placed.status);
    expect(placed.headers.get("idempotent-replayed")).toBeNull(); // a first request, not a replay of the 503
    expect((await settled(orders, stubs, userId, placed.body.order_id)).status).toBe("confirmed");
    await expectUp(orders);
    await orders.stop();
  }, ONE_PROCESS_MS);

  test("malformed JSON, a 100 KB body, a bad Idempotency-Key, no token, another user's token: 4xx envelopes, nothing written, process up", async () => {
    const { db, stubs, orders } = await freshOrders("orders_bad_input");
    const userId = 104;
    const path = `/users/${userId}/orders`;
    const own = { ...(await stubs.issuer.auth(userId)), "content-type": "application/json" };
    const valid = JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa" });
    const post = (headers: Record<string, string>, body = valid) => call(orders, "POST", path, { headers, body });

    expectEnvelope(await post({ ...own, "idempotency-key": "bad-1" }, '{"shipping_address": {"name": '), 400, "BAD_REQUEST");
    const huge = JSON.stringify({ shipping_address: { ...ADDRESS, name: "x".repeat(100 * 1024) }, card_token: "tok_visa" });
    expectEnvelope(await post({ ...own, "idempotency-key": "bad-2" }, huge), 413, "PAYLOAD_TOO_LARGE");
    expectEnvelope(await post({ ...own, "idempotency-key": "has a space" }), 400, "BAD_REQUEST");
    expectEnvelope(await post({ ...own, "idempotency-key": "k".repeat(256) }), 400, "BAD_REQUEST");
    expectEnvelope(await post(own), 400, "BAD_REQUEST"); // no key at all
    expectEnvelope(await post({ "content-type": "application/json", "idempotency-key": "bad-3" }), 401, "UNAUTHENTICATED");
    expectEnvelope(await post({ "content-type": "application/json", "idempotency-key": "bad-4", authorization: "Bearer not.a.token" }), 401, "UNAUTHENTICATED");
    const other = { ...(await stubs.issuer.auth(userId + 1)), "content-type": "application/json" };
    expectEnvelope(await post({ ...other, "idempotency-key": "bad-5" }), 403, "FORBIDDEN");
    expectEnvelope(await call(orders, "GET", path, { headers: other }), 403, "FORBIDDEN");

    const [written] = await db.sql<{ orders: number; keys: number }[]>`
      select (select count(*)::int from orders where user_id in (${userId}, ${userId + 1})) as orders,
             (select count(*)::int from idempotency_keys where user_id in (${userId}, ${userId + 1})) as keys`;
    expect(written).toEqual({ orders: 0, keys: 0 });
    await expectUp(orders);
    await orders.stop();
  }, ONE_PROCESS_MS);
});

describe.skipIf(!enabled)("orders processes started and stopped around a saga", () => {
  test(
    "the users service down at start-up: orders starts and is ready; the saga's token fetch fails and its step retries, the order stays pending; when users returns it is confirmed",
    async () => {
      const db = await database("orders_users_down");
      const stubs = await standIns();
      const userId = 201;

      // A first process leaves an order pending: inventory refuses, so the saga has not got past reserve.
      await stubs.fault("inventory", { kind: "refused" });
      const first = await launch(db, stubs);
      const placed = await checkout(first, stubs, userId, "users-down-1");
      expect(placed.status).toBe(202);
      const orderId: number = placed.body.order_id;
      first.proc.kill("SIGTERM");
      expect(await first.exitWithin(GRACE_MS)).toBe(0);

      // The next process starts with users unreachable: nothing cached, so every step needs a token it cannot get.
      await stubs.fault("users", { kind: "refused" });
      await stubs.fault("inventory", { kind: "pass" });
      stubs.proxies.inventory.resetCounts();
      const restartedAt = new Date();
      const second = await launch(db, stubs); // resolves once /ready answers 200
      expect((await call(second, "GET", "/ready")).body).toEqual({ status: "ready", service: "orders" });

      await explained(
        second,
        pollUntil(`order ${orderId}'s reserve retried twice by the new process`, 20_000, async () => ((await retries(db, orderId, "reserve", restartedAt)).length >= 2 ? true : undefined)),
      );
      expect(await sagaRow(db, orderId)).toMatchObject({ status: "pending", step: "reserve", failure_code: null });
      // Inventory was healthy all along: the step failed before its call left, at the token exchange.
      expect(stubs.proxies.inventory.requests).toBe(0);
      expect(stubs.effectsOf(orderId)).toEqual([]);
      await expectUp(second);

      const tokensBefore = stubs.tokensIssued();
      await stubs.fault("users", { kind: "pass" });
      // Read from the database: GET /orders would need the users service's keys too.
      await explained(second, pollUntil(`order ${orderId} confirmed`, SETTLE_MS, async () => ((await sagaRow(db, orderId)).status === "confirmed" ? true : undefined), 100));
      expect(stubs.effectsOf(orderId)).toEqual(["reserve", "charge", "commit", "clear"]);
      expect(stubs.tokensIssued()).toBeGreaterThan(tokensBefore); // the new process got its token once users was back
      await expectUp(second);
      await second.stop();
    },
    TWO_PROCESSES_MS,
  );

  test(
    "SIGTERM while the saga waits on a slow charge: exit 0 within the grace, and a new process finishes the saga with one charge",
    async () => {
      const db = await database("orders_sigterm");
      const stubs = await standIns();
      const userId = 301;

      const first = await launch(db, stubs);
      // The charge takes 3 s at payments, past the step's 500 ms deadline: the saga is left asking payments
      // whether it went through, so the answer is 202 and the charge is (all but always) still processing when
      // SIGTERM arrives. Only its start is waited for: a machine slow enough to see it end first must not fail this.
      const placed = await checkout(first, stubs, userId, "slow-1", SLOW_CARD);
      expect(placed.status).toBe(202);
      const orderId: number = placed.body.order_id;
      await explained(
        first,
        pollUntil(`order ${orderId}'s charge sent to payments`, 20_000, async () => (stubs.payments.some((p) => p.order_id === orderId) ? true : undefined)),
      );

      first.proc.kill("SIGTERM");
      expect(await first.exitWithin(GRACE_MS)).toBe(0);
      expect(first.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
      expect(first.output.filter((line) => /unhandled promise rejection|uncaught exception/i.test(line))).toEqual([]);
      expect((await sagaRow(db, orderId)).status).toBe("pending");

      const second = await launch(db, stubs);
      expect((await settled(second, stubs, userId, orderId)).status).toBe("confirmed");
      expect(stubs.payments.filter((p) => p.order_id === orderId)).toHaveLength(1);
      expect(stubs.effectsOf(orderId)).toEqual(["reserve", "charge", "commit", "clear"]);
      await expectUp(second);
      await second.stop();
    },
    TWO_PROCESSES_MS,
  );
});

describe.skipIf(!enabled)("the orders process, refusing to start", () => {
  let db: TestDatabase;
  let stubsEnv: Record<string, string>;

  beforeAll(async () => {
    db = await database("orders_startup");
    stubsEnv = (await standIns()).env;
  });

  /** Exit code 1 and exactly one JSON error line that mentions `mentions`. */
  function expectOneLine(result: { code: number | null; lines: string[] }, mentions: RegExp) {
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(1);
    const entry = JSON.parse(result.lines[0]!);
    expect(entry).toMatchObject({ level: "error", service: "orders" });
    expect(result.lines[0]).toMatch(mentions);
    return entry as Record<string, unknown>;
  }

  /** No stack: neither a `stack` field nor a line of one ("at fn (file:line:col)"). */
  const expectNoStack = (result: { lines: string[] }) => {
    expect(result.lines.join("\n")).not.toMatch(/"stack"|\n\s+at |\\n\s+at /);
  };

  test("SERVICE_CLIENT_SECRET missing: exit 1, one line naming it, no stack", async () => {
    const result = await runOrdersToExit({ ORDERS_DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...stubsEnv, SERVICE_CLIENT_SECRET: "" });
    expectOneLine(result, /SERVICE_CLIENT_SECRET/);
    expectNoStack(result);
  });

  test('ORDERS_CRASH_AT="nonsense": exit 1, one line naming it, no stack', async () => {
    const result = await runOrdersToExit({ ORDERS_DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...stubsEnv, ORDERS_CRASH_AT: "nonsense" });
    expectOneLine(result, /ORDERS_CRASH_AT.*nonsense/);
    expectNoStack(result);
  });

  test("SIGTERM while it waits for its database at start-up: exit 0 with a line saying so, not a death by signal", async () => {
    const proxy = await createFaultProxy({ upstreamPort: 1, mode: { kind: "blackhole" } });
    const proc = startProcess("orders", [ENTRY], ordersEnv({ ORDERS_DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/orders`, QUEUE_PREFIX: prefix, ...stubsEnv, PORT: String(freePort()) }));
    try {
      // Booted and waiting on the database (which never answers: 10 s until the connect timeout).
      await Bun.sleep(1500);
      proc.proc.kill("SIGTERM");
      expect(await proc.exitWithin(5000)).toBe(0);
      expect(proc.proc.signalCode ?? null).toBeNull();
      expect(proc.output.some((line) => line.includes("SIGTERM during start-up: stopping"))).toBe(true);
    } finally {
      await proc.stop();
      await proxy.close();
    }
  });

  // The two database cases run each process once; the checks are split so each stays visible on its own.
  let refusedRun: Promise<{ code: number | null; lines: string[]; port: number }> | undefined;
  let silentRun: Promise<{ code: number | null; lines: string[]; port: number }> | undefined;
  /** A database port that refuses connections (nothing listens on it). */
  const refusingDatabase = () =>
    (refusedRun ??= (async () => {
      const proxy = await createFaultProxy({ upstreamPort: 1, mode: { kind: "refused" } });
      const result = await runOrdersToExit({ ORDERS_DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/orders`, QUEUE_PREFIX: prefix, ...stubsEnv });
      await proxy.close();
      return { ...result, port: proxy.port };
    })());
  /** A database port that accepts connections and never answers: the start-up probe gives up after 10 s (CONNECT_TIMEOUT_S). */
  const silentDatabase = () =>
    (silentRun ??= (async () => {
      const proxy = await createFaultProxy({ upstreamPort: 1, mode: { kind: "blackhole" } });
      const result = await runOrdersToExit({ ORDERS_DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/orders`, QUEUE_PREFIX: prefix, ...stubsEnv }, 90_000);
      await proxy.close();
      return { ...result, port: proxy.port };
    })());

  test("a database that refuses connections: exit 1, one line naming its address", async () => {
    const result = await refusingDatabase();
    expectOneLine(result, new RegExp(`cannot start: .*127\\.0\\.0\\.1:${result.port}`));
  });

  test("a database that accepts and never answers: exit 1 (after the 10 s connect timeout), one line naming its address", async () => {
    const result = await silentDatabase();
    expectOneLine(result, new RegExp(`cannot start: .*127\\.0\\.0\\.1:${result.port}`));
  }, 120_000);

  test("a database that refuses connections: no stack trace on stdout", async () => {
    expectNoStack(await refusingDatabase());
  });

  test("a database that accepts and never answers: no stack trace on stdout", async () => {
    expectNoStack(await silentDatabase());
  }, 120_000);
});
