// The reservation sweeper: active reservations past their expiry become `expired` and their units come back,
// once each even with two sweepers at work; nothing else is touched; full batches follow each other at once;
// a failing pass is logged (once per outage) and the next tick tries again; stop waits for the pass in flight.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { migrate } from "@storefront/shared/db/migrate";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { createApp } from "./app.ts";
import { createReservationSweeper, type ReservationSweeper, type ReservationSweeperOptions } from "./reservation-sweeper.ts";
import { migrations, reservationsFixture, type ReservationsFixture } from "./testing/reservations-fixture.ts";

/** Short enough that the tests wait little, long enough that a reservation is still active when first read. */
const TTL_MS = 300;
let f: ReservationsFixture;
let nextProduct = 3000;
let nextOrder = 1;
const sweepers: ReservationSweeper[] = [];

beforeAll(async () => {
  f = await reservationsFixture("inventory_sweeper", { ttlMs: TTL_MS, pool: 10 });
}, 60_000);
afterAll(async () => {
  await Promise.all(sweepers.map((s) => s.stop()));
  await f?.close();
});
beforeEach(async () => {
  await Promise.all(sweepers.splice(0).map((s) => s.stop()));
  await f.db.sql`delete from outbox`;
  f.resetWakes();
});

const product = async (onHand: number) => {
  const id = nextProduct++;
  await f.setStock(id, onHand);
  return id;
};
const orders = (n: number) => Array.from({ length: n }, () => nextOrder++);

function sweeper(options: Partial<ReservationSweeperOptions> = {}) {
  const logs = captureLogs("inventory");
  const s = createReservationSweeper({ sql: f.sql, logger: logs.logger, everyMs: 20, outbox: { wake: () => {} }, ...options });
  sweepers.push(s);
  return Object.assign(s, { logs });
}

/** Polls `check` until it holds, for at most `ms`: a bounded wait instead of a fixed sleep. */
async function eventually(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(20);
  }
}

const statusOf = async (ids: number[]) =>
  (await f.db.sql<{ status: string }[]>`select status from reservations where order_id = any(${ids}) order by order_id`).map((r) => r.status);

describe("reservation sweeper", () => {
  test("an unclaimed reservation expires by itself: status expired, units back, back_in_stock once, the relay woken", async () => {
    const p = await product(2);
    const [id] = orders(1);
    expect((await f.reserve(id!, [{ product_id: p, quantity: 2 }])).body.status).toBe("active");
    let wakes = 0;
    const s = sweeper({ outbox: { wake: () => void wakes++ } });
    s.start();
    await eventually(async () => (await statusOf([id!]))[0] === "expired");
    expect(await f.stock(p)).toEqual({ on_hand: 2, reserved: 0, available: 2 });
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: p, inventory: 2 } }]);
    expect(wakes).toBe(1);
    expect(s.logs.lines.find((l) => l.msg.startsWith("reservations expired"))).toMatchObject({ level: "info", expired: 1, back_in_stock: 1 });
  });

  test("a commit after the sweeper expired the reservation: 409 RESERVATION_EXPIRED, nothing sold", async () => {
    const p = await product(5);
    const [id] = orders(1);
    await f.reserve(id!, [{ product_id: p, quantity: 3 }]);
    sweeper().start();
    await eventually(async () => (await statusOf([id!]))[0] === "expired");
    const res = await f.commit(id!);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "RESERVATION_EXPIRED", status: "expired" });
    expect(await f.stock(p)).toEqual({ on_hand: 5, reserved: 0, available: 5 });
  });

  test("leaves alone what is not due: active ones before their expiry, committed and released ones", async () => {
    const p = await product(10);
    const [pending, committed, released] = orders(3);
    const app = createApp({ sql: f.db.sql, verifier: f.issuer.verifier, reservationTtlMs: 3_600_000 });
    const auth = await f.issuer.auth("orders", "service");
    const post = (path: string, body?: unknown) =>
      app.request(path, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const id of [pending, committed, released]) await post("/reservations", { order_id: id, items: [{ product_id: p, quantity: 1 }] });
    await post(`/reservations/${committed}/commit`);
    await post(`/reservations/${released}/release`);
    await f.db.sql`update reservations set expires_at = now() - interval '1 hour' where order_id in (${committed!}, ${released!})`;
    await sweeper().sweepOnce();
    expect(await statusOf([pending!, committed!, released!])).toEqual(["active", "committed", "released"]);
    expect(await f.stock(p)).toEqual({ on_hand: 9, reserved: 1, available: 8 });
  });

  test("full batches follow each other at once, not a tick apart", async () => {
    const p = await product(10);
    const ids = orders(7);
    for (const id of ids) await f.reserve(id, [{ product_id: p, quantity: 1 }]);
    await f.db.sql`update reservations set expires_at = now() - interval '1 second' where order_id = any(${ids})`;
    // A tick far longer than the test: only the full-batch rule can expire all seven.
    const s = sweeper({ batchSize: 3, everyMs: 600_000 });
    s.start();
    await eventually(async () => (await statusOf(ids)).every((st) => st === "expired"));
    expect(await f.stock(p)).toEqual({ on_hand: 10, reserved: 0, available: 10 });
  });

  // The embedded fallback serves one connection, so only a real server lets the two sweepers' passes overlap.
  test.skipIf(!process.env.TEST_DATABASE_URL)("two sweepers at once expire each reservation exactly once", async () => {
    const [a, b] = [await product(40), await product(40)];
    const ids = orders(40);
    await Promise.all(
      ids.map((id, i) =>
        f.reserve(id, i % 2 ? [{ product_id: a, quantity: 1 }, { product_id: b, quantity: 1 }] : [{ product_id: b, quantity: 1 }, { product_id: a, quantity: 1 }]),
      ),
    );
    expect(await f.stock(a)).toEqual({ on_hand: 40, reserved: 40, available: 0 });
    const [one, two] = [sweeper({ batchSize: 4, everyMs: 5 }), sweeper({ batchSize: 4, everyMs: 5 })];
    one.start();
    two.start();
    await eventually(async () => (await statusOf(ids)).every((st) => st === "expired"));
    expect(await f.stock(a)).toEqual({ on_hand: 40, reserved: 0, available: 40 });
    expect(await f.stock(b)).toEqual({ on_hand: 40, reserved: 0, available: 40 });
    // Given back twice, `reserved` would have gone below 0: the check constraint would have failed a pass.
    expect([...one.logs.lines, ...two.logs.lines].filter((l) => l.level === "error")).toEqual([]);
    const expiredBy = (s: typeof one) => s.logs.lines.reduce((n, l) => n + (typeof l.expired === "number" ? l.expired : 0), 0);
    expect(expiredBy(one) + expiredBy(two)).toBe(40);
    // Each product came back from 0 once.
    expect((await f.events()).map((e) => e.payload.product_id).sort()).toEqual([a, b].sort());
  });

  test("stop waits for the pass in flight, and no pass starts after it", async () => {
    const p = await product(20);
    const [first, second] = [orders(5), orders(5)];
    for (const id of [...first, ...second]) await f.reserve(id, [{ product_id: p, quantity: 1 }]);
    await f.db.sql`update reservations set expires_at = now() - interval '1 second' where order_id = any(${first})`;
    const s = sweeper({ everyMs: 5 });
    s.start();
    await eventually(async () => (await statusOf(first)).every((st) => st === "expired"));
    // Due now, with passes every 5 ms: the stop may well land while one is in flight.
    await f.db.sql`update reservations set expires_at = now() - interval '1 second' where order_id = any(${second})`;
    await s.stop();
    const after = await statusOf(second);
    // One transaction takes all five or none: nothing is half done when stop resolves.
    expect([...new Set(after)]).toHaveLength(1);
    const stock = await f.stock(p);
    expect(stock!.reserved).toBe(after[0] === "expired" ? 0 : 5);
    // And nothing moves after it (a negative, so a short wait over several of the old ticks).
    await Bun.sleep(100);
    expect(await statusOf(second)).toEqual(after);
  });
});

describe("reservation sweeper when the database fails", () => {
  test("a failing pass is logged once, not thrown, and the sweeper recovers when the database does", async () => {
    // A database without the tables yet: every pass fails until the migrations run.
    const db = await createTestDatabase("inventory_sweeper_broken");
    try {
      const logs = captureLogs("inventory");
      const s = createReservationSweeper({ sql: db.sql, logger: logs.logger, everyMs: 10 });
      s.start();
      const failures = () => logs.lines.filter((l) => l.level === "error");
      await eventually(async () => failures().length > 0);
      // Several more ticks fail; still one line.
      const ticksLater = Date.now() + 100;
      await eventually(async () => Date.now() > ticksLater);
      expect(failures()).toHaveLength(1);
      expect(failures()[0]).toMatchObject({ msg: expect.stringContaining("reservation sweeper failed"), error: expect.any(String) });
      await migrate(db.sql, migrations);
      await eventually(async () => logs.lines.some((l) => l.msg === "reservation sweeper works again"));
      await s.stop();
    } finally {
      await db.drop();
    }
  });
});
