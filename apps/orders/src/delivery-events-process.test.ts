// The real orders process (`bun apps/orders/src/index.ts`) consuming delivery events from its queue on a real
// Redis, into its real database: events applied and shown on GET, SIGTERM with the worker idle and with an
// event stuck in flight, and events published while no process runs applied by the next one, once.
import { afterAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { pollUntil } from "../../../tests/support/poll.ts";
import { getOrder, listHistory } from "./db/orders.ts";
import { assigned, deliveryQueue, done, placeOrder, type DeliveryQueue } from "./testing/delivery-events-harness.ts";
import { expectUp, startOrders, UNHANDLED, type OrdersProcess } from "./testing/orders-process.ts";
import { startStandIns, type StandIns } from "./testing/upstream-stand-ins.ts";

const redisUp = await requireRedis("the orders process: delivery events");
// The tests place orders in, and read them from, the process's database: it must be one the test reaches too.
const onServer = Boolean(process.env.TEST_DATABASE_URL);
if (!onServer) console.warn("skipping the orders process delivery-event tests: they need TEST_DATABASE_URL (a Postgres server the test can read too)");
const enabled = redisUp && onServer;

const USER = 501;
/** How long a delivery event may take through Redis and the process, on a busy machine. */
const APPLIED_MS = 15_000;
/** The worker's close grace, the database's 5 s close timeout, and a margin: SIGTERM must end the process within it. */
const EXIT_MS = 15_000;
/** Short, so a job cut off by a stopped process is taken up again quickly by the next one. */
const WORKER_ENV = { WORKER_LOCK_MS: "1000", SHUTDOWN_GRACE_MS: "1000" };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
}, 60_000);

async function setUp(label: string) {
  const db: TestDatabase = await createTestDatabase(label);
  cleanups.push(db.drop);
  const stubs: StandIns = await startStandIns();
  cleanups.push(stubs.stop);
  const queue: DeliveryQueue = deliveryQueue(uniquePrefix("orders-delivery-process"));
  cleanups.push(queue.close);
  const launch = async (): Promise<OrdersProcess> => {
    const proc = await startOrders({ ORDERS_DATABASE_URL: db.url, QUEUE_PREFIX: queue.prefix, ...stubs.env, ...WORKER_ENV });
    cleanups.push(() => proc.stop());
    return proc;
  };
  return { db, stubs, queue, launch };
}

const tail = (proc: OrdersProcess) => `\n--- last output of orders ---\n${proc.output.slice(-15).join("\n")}`;
const statusBecomes = (proc: OrdersProcess, db: TestDatabase, orderId: number, status: string) =>
  pollUntil(`order ${orderId} ${status}`, APPLIED_MS, async () => ((await getOrder(db.sql, orderId))?.status === status ? true : undefined), 50).catch((err: Error) => {
    throw new Error(`${err.message}${tail(proc)}`);
  });

describe.skipIf(!enabled)("the orders process, delivery events", () => {
  test("assigned then done through the process: shipped, then delivered, shown on GET; SIGTERM exits 0 with the worker drained; an event published while no process runs is applied by the next", async () => {
    const { db, stubs, queue, launch } = await setUp("orders_delivery_process");
    const first = await launch();
    const orderId = await placeOrder(db.sql, USER);

    await queue.add(assigned(orderId, USER, "Courier One"));
    await statusBecomes(first, db, orderId, "shipped");
    const res = await fetch(`${first.url}/users/${USER}/orders/${orderId}`, { headers: { ...(await stubs.issuer.auth(USER)), connection: "close" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.status).toBe("shipped");
    expect(body.delivery).toMatchObject({ status: "activated", courier_name: "Courier One" });
    await expectUp(first);

    first.proc.kill("SIGTERM");
    expect(await first.exitWithin(EXIT_MS)).toBe(0);
    expect(first.output.some((line) => line.includes("delivery events worker stopped (drained)"))).toBe(true);
    // Closing its own Redis connection is no outage.
    expect(first.output.filter((line) => line.includes("Redis is unreachable"))).toEqual([]);
    expect(first.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    expect(first.output.filter((line) => UNHANDLED.test(line))).toEqual([]);

    // Published while nothing consumes the queue: it waits in Redis.
    const event = done(orderId, USER);
    await queue.add(event);
    expect(await queue.producer.getJobState(event.event_id)).toBe("waiting");

    const second = await launch();
    await statusBecomes(second, db, orderId, "delivered");
    expect((await listHistory(db.sql, orderId)).map((e) => e.step)).toEqual(["shipped", "delivered"]);
    await expectUp(second);
    await second.stop();
  }, 120_000);

  test("SIGTERM while an event waits on its order's row: exit 0 within the grace; the next process runs it again and applies it once", async () => {
    const { db, queue, launch } = await setUp("orders_delivery_sigterm");
    const first = await launch();
    const orderId = await placeOrder(db.sql, USER);

    // The test holds the order's row, so the event's transaction waits on it, in flight, when SIGTERM comes.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = db.sql.begin(async (tx) => {
      await tx`select 1 from orders where order_id = ${orderId} for update`;
      locked();
      await held;
    });
    holding.catch(() => {}); // awaited below; a failure there fails the test
    await isLocked;

    const event = assigned(orderId, USER);
    await queue.add(event);
    await pollUntil("the event's job active", APPLIED_MS, async () => ((await queue.producer.getJobState(event.event_id)) === "active" ? true : undefined), 20);

    first.proc.kill("SIGTERM");
    expect(await first.exitWithin(EXIT_MS)).toBe(0);
    expect(first.output.some((line) => line.includes("delivery events worker stopped (abandoned)"))).toBe(true);
    expect(first.output.filter((line) => line.includes("Redis is unreachable"))).toEqual([]);
    expect(first.output.filter((line) => UNHANDLED.test(line))).toEqual([]);

    release();
    await holding;
    // The cut-off transaction never committed: the order is as it was.
    expect((await getOrder(db.sql, orderId))!.status).toBe("confirmed");

    const second = await launch();
    await statusBecomes(second, db, orderId, "shipped");
    const job = await queue.settled(event.event_id, APPLIED_MS);
    expect(await job.getState()).toBe("completed");
    expect((await listHistory(db.sql, orderId)).map((e) => e.step)).toEqual(["shipped"]);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from processed_events where event_id = ${event.event_id}`;
    expect(row!.n).toBe(1);
    await expectUp(second);
    await second.stop();
  }, 120_000);
});
