// /reservations under concurrency on a real Postgres, through a pool wide enough for the transactions to
// interleave: no overselling, no deadlock whatever the item order, one reservation per order id however many
// retries arrive at once, races of release against reserve and commit that end consistent, and the stock
// invariant after a mixed random run. The embedded fallback serves one connection, so these need a server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "@storefront/shared/observability/logger";
import { createReservationSweeper } from "../reservation-sweeper.ts";
import { reservationsFixture, type Answer, type Item, type ReservationsFixture } from "../testing/reservations-fixture.ts";

const onServer = Boolean(process.env.TEST_DATABASE_URL);
let f: ReservationsFixture;
let nextProduct = 2000;
let nextOrder = 1;

beforeAll(async () => {
  if (onServer) f = await reservationsFixture("inventory_reservations_race", { pool: 20 });
}, 60_000);
afterAll(() => f?.close());

const product = async (onHand: number) => {
  const id = nextProduct++;
  await f.setStock(id, onHand);
  return id;
};
const orders = (n: number) => Array.from({ length: n }, () => nextOrder++);
const statuses = (answers: Answer[]) => answers.map((a) => a.status).sort();
const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;
/** A 500 here would be a deadlock or a constraint violation: the designed answers only. */
const expectDesigned = (answers: Answer[], allowed: number[]) => {
  for (const a of answers) expect(allowed, JSON.stringify(a.body)).toContain(a.status);
};

/** Samples `read` until `done` settles, failing the test if it ever breaks `holds`. */
async function whileRunning<T>(done: Promise<T>, read: () => Promise<number>, holds: (n: number) => boolean): Promise<T> {
  let finished = false;
  const result = done.finally(() => void (finished = true));
  const seen: number[] = [];
  while (!finished) {
    seen.push(await read());
    await Bun.sleep(1);
  }
  expect(seen.filter((n) => !holds(n))).toEqual([]);
  return result;
}

describe.skipIf(!onServer)("reservations under concurrency", () => {
  test("50 reservations of 1 at once on 10 available: exactly 10 held, 40 OUT_OF_STOCK, never more than 10 reserved", async () => {
    const p = await product(10);
    const answers = await whileRunning(
      Promise.all(orders(50).map((id) => f.reserve(id, [{ product_id: p, quantity: 1 }]))),
      async () => (await f.stock(p))!.reserved,
      (reserved) => reserved <= 10,
    );
    expect(count(answers, 201)).toBe(10);
    expect(count(answers, 409)).toBe(40);
    for (const a of answers.filter((a) => a.status === 409)) {
      expect(a.body.error.code).toBe("OUT_OF_STOCK");
      expect(a.body.error.products).toEqual([{ product_id: p, requested: 1, available: 0 }]);
    }
    expect(await f.stock(p)).toEqual({ on_hand: 10, reserved: 10, available: 0 });
    const [active] = await f.db.sql<{ n: number }[]>`
      select count(*)::int as n from reservation_items i join reservations r using (order_id)
      where i.product_id = ${p} and r.status = 'active'`;
    expect(active!.n).toBe(10);
  });

  test("items in opposite orders ([a, b] and [b, a]), 100 of each at once, then releases racing new reserves: no deadlock, stock adds up", async () => {
    const [a, b] = [await product(150), await product(150)];
    const forward: Item[] = [{ product_id: a, quantity: 1 }, { product_id: b, quantity: 1 }];
    const backward: Item[] = [{ product_id: b, quantity: 1 }, { product_id: a, quantity: 1 }];
    const first = orders(200);
    const answers = await Promise.all(first.map((id, i) => f.reserve(id, i % 2 ? backward : forward)));
    expectDesigned(answers, [201, 409]);
    expect(count(answers, 201)).toBe(150);
    expect(await f.stock(a)).toEqual({ on_hand: 150, reserved: 150, available: 0 });
    expect(await f.stock(b)).toEqual({ on_hand: 150, reserved: 150, available: 0 });

    // Releases lock the same rows as the reserves that race them; each takes them in product order.
    const held = first.filter((_, i) => answers[i]!.status === 201);
    const second = orders(100);
    const mixed = await Promise.all([
      ...held.map((id) => f.release(id)),
      ...second.map((id, i) => f.reserve(id, i % 2 ? backward : forward)),
    ]);
    expectDesigned(mixed, [200, 201, 409]);
    const newlyHeld = count(mixed.slice(held.length), 201);
    expect(await f.stock(a)).toEqual({ on_hand: 150, reserved: newlyHeld, available: 150 - newlyHeld });
    expect(await f.stock(b)).toEqual({ on_hand: 150, reserved: newlyHeld, available: 150 - newlyHeld });
  });

  test("the same order 20 times at once: one reservation, held once; every answer is that reservation", async () => {
    const [a, b] = [await product(10), await product(10)];
    const [id] = orders(1);
    const items: Item[] = [{ product_id: a, quantity: 3 }, { product_id: b, quantity: 2 }];
    const answers = await Promise.all(Array.from({ length: 20 }, () => f.reserve(id!, items)));
    expect(statuses(answers)).toEqual([...Array(19).fill(200), 201]);
    const bodies = new Set(answers.map((a) => JSON.stringify(a.body)));
    expect(bodies.size).toBe(1);
    expect(await f.stock(a)).toEqual({ on_hand: 10, reserved: 3, available: 7 });
    expect(await f.stock(b)).toEqual({ on_hand: 10, reserved: 2, available: 8 });
    const [rows] = await f.db.sql<{ n: number }[]>`select count(*)::int as n from reservations where order_id = ${id!}`;
    expect(rows!.n).toBe(1);
  });

  test("a release racing the reserve of the same order, 30 times: whichever wins, the order ends released and holds nothing", async () => {
    const p = await product(100);
    const ids = orders(30);
    const answers = await Promise.all(ids.flatMap((id) => [f.reserve(id, [{ product_id: p, quantity: 1 }]), f.release(id)]));
    expectDesigned(answers, [200, 201]);
    // A reserve that came second got the tombstone; one that came first was released.
    for (let i = 0; i < ids.length; i++) expect(answers[2 * i]!.body.status, `order ${ids[i]}`).toBeOneOf(["active", "released"]);
    const rows = await f.db.sql<{ status: string }[]>`select status from reservations where order_id = any(${ids})`;
    expect(rows.map((r) => r.status)).toEqual(Array(30).fill("released"));
    expect(await f.stock(p)).toEqual({ on_hand: 100, reserved: 0, available: 100 });
  });

  test("a commit racing a release of the same order, 30 times: sold then returned, or released and the commit refused; the stock is whole again", async () => {
    const p = await product(100);
    const ids = orders(30);
    for (const id of ids) expect((await f.reserve(id, [{ product_id: p, quantity: 2 }])).status).toBe(201);
    const answers = await Promise.all(ids.flatMap((id) => [f.commit(id), f.release(id)]));
    for (let i = 0; i < ids.length; i++) {
      const [commit, release] = [answers[2 * i]!, answers[2 * i + 1]!];
      if (commit.status === 200) expect(release.body.status).toBe("returned");
      else {
        expect(commit.body.error.code).toBe("RESERVATION_EXPIRED");
        expect(release.body.status).toBe("released");
      }
    }
    expect(await f.stock(p)).toEqual({ on_hand: 100, reserved: 0, available: 100 });
  });

  test("after a mixed random run: available + reserved (active) + sold (committed) = the initial stock, per product", async () => {
    const seed = Date.now() % 2 ** 31;
    const random = mulberry32(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const initial = new Map<number, number>();
    for (let i = 0; i < 6; i++) {
      const onHand = 5 + Math.floor(random() * 20);
      initial.set(await product(onHand), onHand);
    }
    const products = [...initial.keys()];
    const sweeper = createReservationSweeper({ sql: f.sql, logger: createLogger("sweeper", "silent") });
    const known: number[] = [];
    const answers: Answer[] = [];
    for (let wave = 0; wave < 15; wave++) {
      const ops = Array.from({ length: 20 }, async (): Promise<Answer | undefined> => {
        const roll = random();
        if (roll < 0.45 || known.length === 0) {
          const [id] = orders(1);
          known.push(id!);
          const chosen = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(products)))];
          return f.reserve(id!, chosen.map((product_id) => ({ product_id, quantity: 1 + Math.floor(random() * 4) })));
        }
        const id = pick(known);
        if (roll < 0.65) return f.commit(id);
        if (roll < 0.85) return f.release(id);
        if (roll < 0.95) {
          await f.makeDue(id);
          return undefined;
        }
        await sweeper.sweepOnce();
        return undefined;
      });
      answers.push(...(await Promise.all(ops)).filter((a): a is Answer => a !== undefined));
    }
    await sweeper.sweepOnce();
    expectDesigned(answers, [200, 201, 404, 409]);
    // Every kind of move happened, or the run proved little.
    const final = await f.db.sql<{ status: string }[]>`select distinct status from reservations`;
    expect(final.length, `seed ${seed}`).toBeGreaterThanOrEqual(3);

    const held = await f.db.sql<{ product_id: number; status: string; quantity: number }[]>`
      select i.product_id, r.status, sum(i.quantity)::int as quantity
      from reservation_items i join reservations r using (order_id)
      group by i.product_id, r.status`;
    const sum = (productId: number, status: string) =>
      held.filter((h) => h.product_id === productId && h.status === status).reduce((n, h) => n + h.quantity, 0);
    for (const [productId, start] of initial) {
      const stock = (await f.stock(productId))!;
      const active = sum(productId, "active");
      const sold = sum(productId, "committed");
      expect({ productId, reserved: stock.reserved, total: stock.available + active + sold }, `seed ${seed}`).toEqual({
        productId,
        reserved: active,
        total: start,
      });
    }
  });
});

/** A small seeded PRNG, so a failing run can be told by its seed. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
