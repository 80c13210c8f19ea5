// /reservations one request at a time: reserve all or nothing, idempotent on the order id, commit, release
// (and the tombstone for an order never reserved), expiry found at commit, stock.back_in_stock when units come
// back to a product at 0, what clients see of available stock, and bad input. Concurrency is in
// reservations-concurrency.test.ts, the sweeper in reservation-sweeper.test.ts, who may call in
// reservations-auth.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { migrate } from "@storefront/shared/db/migrate";
import { createApp } from "../app.ts";
import { migrations, reservationsFixture, type ReservationsFixture } from "../testing/reservations-fixture.ts";

const TTL_MS = 60_000;
let f: ReservationsFixture;

beforeAll(async () => {
  f = await reservationsFixture("inventory_reservations", { ttlMs: TTL_MS });
}, 60_000);
afterAll(() => f?.close());
beforeEach(async () => {
  await f.db.sql`delete from outbox`;
  f.resetWakes();
});

// Each test takes its own products and orders, so no test sees another's stock.
let nextProduct = 1000;
let nextOrder = 1;
const product = async (onHand: number) => {
  const id = nextProduct++;
  await f.setStock(id, onHand);
  return id;
};
const order = () => nextOrder++;

/** Everything a refused or rejected request must leave as it was. */
const snapshot = async () => ({
  stock: [...(await f.db.sql`select * from stock order by product_id`)],
  reservations: [...(await f.db.sql`select * from reservations order by order_id`)],
  items: [...(await f.db.sql`select * from reservation_items order by order_id, product_id`)],
  outbox: [...(await f.db.sql`select id from outbox order by id`)],
});

describe("POST /reservations", () => {
  test("reserves every item: 201 with the reservation, the units held and no longer available", async () => {
    const [a, b] = [await product(10), await product(5)];
    const id = order();
    const res = await f.reserve(id, [
      { product_id: b, quantity: 5 },
      { product_id: a, quantity: 3 },
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      order_id: id,
      status: "active",
      expires_at: expect.any(String),
      items: [
        { product_id: a, quantity: 3 },
        { product_id: b, quantity: 5 },
      ],
    });
    expect(await f.stock(a)).toEqual({ on_hand: 10, reserved: 3, available: 7 });
    expect(await f.stock(b)).toEqual({ on_hand: 5, reserved: 5, available: 0 });
    // Reserving lowers what is available: no event, no wake.
    expect(await f.events()).toEqual([]);
    expect(f.wakes()).toBe(0);
  });

  test("expires_at is the reservation's start plus the TTL, exactly", async () => {
    const id = order();
    await f.reserve(id, [{ product_id: await product(1), quantity: 1 }]);
    const [row] = await f.db.sql<{ ms: number }[]>`
      select (extract(epoch from expires_at - created_at) * 1000)::int as ms from reservations where order_id = ${id}`;
    expect(row!.ms).toBe(TTL_MS);
  });

  test("without reservationTtlMs the TTL is 15 minutes", async () => {
    const app = createApp({ sql: f.db.sql, verifier: f.issuer.verifier });
    const id = order();
    const res = await app.request("/reservations", {
      method: "POST",
      headers: { ...(await f.issuer.auth("orders", "service")), "content-type": "application/json" },
      body: JSON.stringify({ order_id: id, items: [{ product_id: await product(1), quantity: 1 }] }),
    });
    expect(res.status).toBe(201);
    const [row] = await f.db.sql<{ ms: number }[]>`
      select (extract(epoch from expires_at - created_at) * 1000)::int as ms from reservations where order_id = ${id}`;
    expect(row!.ms).toBe(900_000);
  });

  test("exactly what is available can be reserved; one more is short", async () => {
    const p = await product(4);
    const res = await f.reserve(order(), [{ product_id: p, quantity: 5 }]);
    expect(res.status).toBe(409);
    expect(res.body.error.products).toEqual([{ product_id: p, requested: 5, available: 4 }]);
    expect((await f.reserve(order(), [{ product_id: p, quantity: 4 }])).status).toBe(201);
    expect(await f.stock(p)).toEqual({ on_hand: 4, reserved: 4, available: 0 });
  });

  test("short: 409 OUT_OF_STOCK naming every short product (an unknown one has 0), and nothing is reserved", async () => {
    const [plenty, few, none] = [await product(50), await product(2), await product(0)];
    const unknown = 999_999;
    const before = await snapshot();
    const id = order();
    const res = await f.reserve(id, [
      { product_id: plenty, quantity: 1 },
      { product_id: few, quantity: 3 },
      { product_id: unknown, quantity: 1 },
      { product_id: none, quantity: 1 },
    ]);
    expect(res).toEqual({
      status: 409,
      body: {
        error: {
          code: "OUT_OF_STOCK",
          message: expect.any(String),
          products: [
            { product_id: few, requested: 3, available: 2 },
            { product_id: unknown, requested: 1, available: 0 },
            { product_id: none, requested: 1, available: 0 },
          ],
        },
      },
    });
    expect(await snapshot()).toEqual(before);
    // Nothing was stored under the order id either: the same order may try again once stock is back.
    await f.setStock(few, 3);
    await f.setStock(none, 1);
    await f.setStock(unknown, 1);
    expect((await f.reserve(id, [{ product_id: few, quantity: 3 }])).status).toBe(201);
  });

  test("available counts what others hold: a second order gets only what is left", async () => {
    const p = await product(5);
    await f.reserve(order(), [{ product_id: p, quantity: 3 }]);
    const res = await f.reserve(order(), [{ product_id: p, quantity: 3 }]);
    expect(res.status).toBe(409);
    expect(res.body.error.products).toEqual([{ product_id: p, requested: 3, available: 2 }]);
    expect(await f.stock(p)).toEqual({ on_hand: 5, reserved: 3, available: 2 });
  });
});

describe("POST /reservations is idempotent on the order id", () => {
  test("the same order again (items in any order): 200 with the stored reservation, stock held once", async () => {
    const [a, b] = [await product(10), await product(10)];
    const id = order();
    const first = await f.reserve(id, [
      { product_id: a, quantity: 1 },
      { product_id: b, quantity: 2 },
    ]);
    const again = await f.reserve(id, [
      { product_id: b, quantity: 2 },
      { product_id: a, quantity: 1 },
    ]);
    expect(again).toEqual({ status: 200, body: first.body });
    expect(await f.stock(a)).toEqual({ on_hand: 10, reserved: 1, available: 9 });
    expect(await f.stock(b)).toEqual({ on_hand: 10, reserved: 2, available: 8 });
  });

  test.each([
    ["another quantity", (a: number, _b: number) => [{ product_id: a, quantity: 2 }]],
    ["another product", (_a: number, b: number) => [{ product_id: b, quantity: 1 }]],
    ["one more item", (a: number, b: number) => [{ product_id: a, quantity: 1 }, { product_id: b, quantity: 1 }]],
  ])("the same order with other items (%s): 409 CONFLICT, nothing changes", async (_, items) => {
    const [a, b] = [await product(10), await product(10)];
    const id = order();
    await f.reserve(id, [{ product_id: a, quantity: 1 }]);
    const before = await snapshot();
    const res = await f.reserve(id, items(a, b));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("CONFLICT");
    expect(await snapshot()).toEqual(before);
  });

  test.each([
    ["committed", async (id: number) => void (await f.commit(id))],
    ["released", async (id: number) => void (await f.release(id))],
    ["returned", async (id: number) => void (await f.commit(id), await f.release(id))],
    ["expired", async (id: number) => void (await f.makeDue(id), await f.commit(id))],
  ])("a %s reservation is answered as it is (200) and never revived", async (status, end) => {
    const p = await product(10);
    const id = order();
    const items = [{ product_id: p, quantity: 4 }];
    await f.reserve(id, items);
    await end(id);
    const before = await snapshot();
    const res = await f.reserve(id, items);
    expect(res).toEqual({ status: 200, body: { order_id: id, status, expires_at: expect.any(String), items } });
    expect(await snapshot()).toEqual(before);
  });
});

describe("POST /reservations/:order_id/commit", () => {
  test("active -> committed: the units leave on hand and the hold, available stays; again is 200", async () => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 4 }]);
    expect(await f.commit(id)).toEqual({ status: 200, body: { order_id: id, status: "committed" } });
    expect(await f.stock(p)).toEqual({ on_hand: 6, reserved: 0, available: 6 });
    const before = await snapshot();
    expect(await f.commit(id)).toEqual({ status: 200, body: { order_id: id, status: "committed" } });
    expect(await snapshot()).toEqual(before);
    expect((await f.call("GET", `/reservations/${id}`)).body.status).toBe("committed");
  });

  test("unknown order: 404 NOT_FOUND, and no tombstone is written", async () => {
    const before = await snapshot();
    const res = await f.commit(order());
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect(await snapshot()).toEqual(before);
  });

  test("an active one past its expiry (not swept yet): expired there and then, 409 RESERVATION_EXPIRED, units back", async () => {
    const p = await product(3);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 3 }]);
    await f.makeDue(id);
    const res = await f.commit(id);
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: "RESERVATION_EXPIRED", message: expect.stringContaining("expired"), status: "expired" });
    expect(await f.stock(p)).toEqual({ on_hand: 3, reserved: 0, available: 3 });
    expect((await f.call("GET", `/reservations/${id}`)).body.status).toBe("expired");
    // The units freed were the product's last: whoever waits for it hears.
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: p, inventory: 3 } }]);
    expect(f.wakes()).toBe(1);
    // Asking again changes nothing more.
    const before = await snapshot();
    expect((await f.commit(id)).body.error.code).toBe("RESERVATION_EXPIRED");
    expect(await snapshot()).toEqual(before);
  });

  test.each([
    ["released", async (id: number) => void (await f.release(id))],
    ["returned", async (id: number) => void (await f.commit(id), await f.release(id))],
  ])("a %s reservation: 409 RESERVATION_EXPIRED saying which, nothing changes", async (status, end) => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 2 }]);
    await end(id);
    const before = await snapshot();
    const res = await f.commit(id);
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: "RESERVATION_EXPIRED", message: expect.stringContaining(status), status });
    expect(await snapshot()).toEqual(before);
  });

  test("a tombstone (released before any reserve): 409 RESERVATION_EXPIRED, released", async () => {
    const id = order();
    await f.release(id);
    const res = await f.commit(id);
    expect(res.status).toBe(409);
    expect(res.body.error.status).toBe("released");
  });
});

describe("POST /reservations/:order_id/release", () => {
  test("active -> released: the hold ends; again is 200 and changes nothing", async () => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 4 }]);
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "released" } });
    expect(await f.stock(p)).toEqual({ on_hand: 10, reserved: 0, available: 10 });
    const before = await snapshot();
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "released" } });
    expect(await snapshot()).toEqual(before);
  });

  test("committed -> returned: the units come back on hand; again is 200 and changes nothing", async () => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 4 }]);
    await f.commit(id);
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "returned" } });
    expect(await f.stock(p)).toEqual({ on_hand: 10, reserved: 0, available: 10 });
    const before = await snapshot();
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "returned" } });
    expect(await snapshot()).toEqual(before);
  });

  test("expired stays expired: 200, nothing changes", async () => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 4 }]);
    await f.makeDue(id);
    await f.commit(id);
    const before = await snapshot();
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "expired" } });
    expect(await snapshot()).toEqual(before);
  });

  test("an active one past its expiry is released like any active one", async () => {
    const p = await product(10);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 4 }]);
    await f.makeDue(id);
    expect((await f.release(id)).body.status).toBe("released");
    expect(await f.stock(p)).toEqual({ on_hand: 10, reserved: 0, available: 10 });
  });

  test("unknown order: a tombstone (released, no items), and a late reserve for it gets the tombstone, taking nothing", async () => {
    const p = await product(5);
    const id = order();
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "released" } });
    expect((await f.call("GET", `/reservations/${id}`)).body).toEqual({ order_id: id, status: "released", expires_at: null, items: [] });
    const before = await snapshot();
    expect(await f.reserve(id, [{ product_id: p, quantity: 2 }])).toEqual({
      status: 200,
      body: { order_id: id, status: "released", expires_at: null, items: [] },
    });
    expect(await f.stock(p)).toEqual({ on_hand: 5, reserved: 0, available: 5 });
    expect(await snapshot()).toEqual(before);
    // Releasing the tombstone again is the same answer.
    expect(await f.release(id)).toEqual({ status: 200, body: { order_id: id, status: "released" } });
  });
});

describe("stock.back_in_stock from reservations", () => {
  test("a release that frees a product's last units writes one event per such product, and wakes the relay", async () => {
    const [last, notLast] = [await product(2), await product(5)];
    const id = order();
    await f.reserve(id, [
      { product_id: last, quantity: 2 },
      { product_id: notLast, quantity: 2 },
    ]);
    await f.release(id);
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: last, inventory: 2 } }]);
    expect(f.wakes()).toBe(1);
  });

  test("only the release that takes available from 0 writes one; the next, from 1 to 3, writes nothing", async () => {
    // Every unit on hand held by two orders.
    const p = await product(3);
    const [one, other] = [order(), order()];
    await f.reserve(one, [{ product_id: p, quantity: 1 }]);
    await f.reserve(other, [{ product_id: p, quantity: 2 }]);
    expect((await f.stock(p))!.available).toBe(0);
    await f.release(one);
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: p, inventory: 1 } }]);
    await f.db.sql`delete from outbox`;
    f.resetWakes();
    await f.release(other);
    // From 1 to 3: it was not out of stock, nobody is waiting.
    expect(await f.events()).toEqual([]);
    expect(f.wakes()).toBe(0);
  });

  test("a return to a sold-out product writes one", async () => {
    const p = await product(2);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 2 }]);
    await f.commit(id);
    expect(await f.stock(p)).toEqual({ on_hand: 0, reserved: 0, available: 0 });
    expect(await f.events()).toEqual([]);
    await f.release(id);
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: p, inventory: 2 } }]);
    expect(f.wakes()).toBe(1);
  });

  test("a commit writes none (available does not change)", async () => {
    const p = await product(2);
    const id = order();
    await f.reserve(id, [{ product_id: p, quantity: 1 }]);
    await f.commit(id);
    expect(await f.events()).toEqual([]);
    expect(f.wakes()).toBe(0);
  });
});

describe("GET /reservations/:order_id", () => {
  test("the reservation as stored, and 404 for an unknown order", async () => {
    const p = await product(3);
    const id = order();
    const created = await f.reserve(id, [{ product_id: p, quantity: 1 }]);
    expect(await f.call("GET", `/reservations/${id}`)).toEqual({ status: 200, body: created.body });
    const missing = await f.call("GET", `/reservations/${order()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
  });

  test("order ids past int4 work (the column is bigint)", async () => {
    const id = 2 ** 40;
    const p = await product(3);
    expect((await f.reserve(id, [{ product_id: p, quantity: 1 }])).status).toBe(201);
    expect((await f.call("GET", `/reservations/${id}`)).body.order_id).toBe(id);
    expect((await f.commit(id)).body).toEqual({ order_id: id, status: "committed" });
  });
});

describe("what clients see of stock with reservations", () => {
  test("the listing shows available; the product's stock shows available, on hand and reserved", async () => {
    const p = await product(10);
    await f.reserve(order(), [{ product_id: p, quantity: 4 }]);
    expect((await f.call("GET", `/inventory?ids=${p}`)).body).toEqual([{ product_id: p, inventory: 6 }]);
    expect((await f.call("GET", `/products/${p}/inventory`)).body).toEqual({ product_id: p, inventory: 6, on_hand: 10, reserved: 4 });
  });

  test("PUT below what is reserved: 409 CONFLICT, nothing changes; down to exactly the reserved count is fine", async () => {
    const p = await product(5);
    await f.reserve(order(), [{ product_id: p, quantity: 3 }]);
    const asAdmin = await f.issuer.auth(1, "admin");
    const before = await snapshot();
    const refused = await f.call("PUT", `/products/${p}/inventory`, { inventory: 2 }, asAdmin);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CONFLICT");
    expect(await snapshot()).toEqual(before);
    expect(await f.call("PUT", `/products/${p}/inventory`, { inventory: 3 }, asAdmin)).toEqual({
      status: 200,
      body: { product_id: p, inventory: 0, on_hand: 3, reserved: 3 },
    });
    expect(await f.events()).toEqual([]);
  });

  test("PUT that takes available from 0 to more while units are reserved: stock.back_in_stock with the available count", async () => {
    const p = await product(3);
    await f.reserve(order(), [{ product_id: p, quantity: 3 }]);
    const asAdmin = await f.issuer.auth(1, "admin");
    expect((await f.call("PUT", `/products/${p}/inventory`, { inventory: 5 }, asAdmin)).body).toEqual({ product_id: p, inventory: 2, on_hand: 5, reserved: 3 });
    expect(await f.events()).toEqual([{ type: "stock.back_in_stock", payload: { product_id: p, inventory: 2 } }]);
    expect(f.wakes()).toBe(1);
  });
});

describe("bad input is 400 in the envelope and writes nothing", () => {
  const ok = { product_id: 1, quantity: 1 };
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ product_id: i + 1, quantity: 1 }));
  const bodies: [string, unknown][] = [
    ["no order_id", { items: [ok] }],
    ["order_id 0", { order_id: 0, items: [ok] }],
    ["a negative order_id", { order_id: -1, items: [ok] }],
    ["a decimal order_id", { order_id: 1.5, items: [ok] }],
    ["order_id as a string", { order_id: "1", items: [ok] }],
    ["order_id past 2^53", { order_id: 2 ** 53, items: [ok] }],
    ["no items", { order_id: 1 }],
    ["empty items", { order_id: 1, items: [] }],
    ["101 items", { order_id: 1, items: items(101) }],
    ["items not an array", { order_id: 1, items: ok }],
    ["a product twice", { order_id: 1, items: [ok, { product_id: 1, quantity: 2 }] }],
    ["quantity 0", { order_id: 1, items: [{ product_id: 1, quantity: 0 }] }],
    ["quantity 1000", { order_id: 1, items: [{ product_id: 1, quantity: 1000 }] }],
    ["a decimal quantity", { order_id: 1, items: [{ product_id: 1, quantity: 1.5 }] }],
    ["no quantity", { order_id: 1, items: [{ product_id: 1 }] }],
    ["product_id 0", { order_id: 1, items: [{ product_id: 0, quantity: 1 }] }],
    ["product_id past int4", { order_id: 1, items: [{ product_id: 2_147_483_648, quantity: 1 }] }],
    ["an unknown item field", { order_id: 1, items: [{ ...ok, price: 1 }] }],
    ["an unknown body field", { order_id: 1, items: [ok], user_id: 1 }],
    ["an array body", [{ order_id: 1, items: [ok] }]],
    ["null", null],
    ["malformed JSON", '{"order_id": 1, "items": ['],
    ["an empty body", ""],
  ];
  const expectBadRequest = (res: { status: number; body: any }) => {
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(res.body)).not.toContain("    at ");
  };

  test.each(bodies)("POST /reservations with %s", async (_, body) => {
    const before = await snapshot();
    expectBadRequest(await f.call("POST", "/reservations", body));
    expect(await snapshot()).toEqual(before);
  });

  test("POST /reservations with 100 items is fine (the limit is inclusive)", async () => {
    const ids = await Promise.all(Array.from({ length: 100 }, () => product(1)));
    const res = await f.reserve(order(), ids.map((product_id) => ({ product_id, quantity: 1 })));
    expect(res.status).toBe(201);
    expect(res.body.items).toHaveLength(100);
  });

  test("POST /reservations with a body not declared as JSON", async () => {
    const before = await snapshot();
    const res = await f.app.request("/reservations", {
      method: "POST",
      headers: { ...(await f.issuer.auth("orders", "service")), "content-type": "text/plain" },
      body: JSON.stringify({ order_id: 1, items: [ok] }),
    });
    expectBadRequest({ status: res.status, body: await res.json() });
    expect(await snapshot()).toEqual(before);
  });

  const badIds = ["0", "-1", "abc", "1.5", "01", "1e3", "99999999999999999"];
  test.each(badIds.flatMap((id) => [["GET", `/reservations/${id}`], ["POST", `/reservations/${id}/commit`], ["POST", `/reservations/${id}/release`]]))(
    "%s %s",
    async (method, path) => {
      const before = await snapshot();
      expectBadRequest(await f.call(method!, path!));
      expect(await snapshot()).toEqual(before);
    },
  );

  test("migrations are safe to run twice", async () => {
    expect(await migrate(f.db.sql, migrations)).toEqual([]);
  });
});
