// POST /users/:id/cart/clear: the ordered quantities leave the cart once per order id; lines added after
// checking out stay; one cart.changed per clearing that changed something; the same order id for another user
// is a 409; only services and admins may call it; bad input is a 400; a refused or rejected call writes nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import type { Role } from "@storefront/shared/auth/identity";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let issuer: TestIssuer;
let stranger: TestIssuer;
let asService: Record<string, string>;
let wakes = 0;

beforeAll(async () => {
  db = await createTestDatabase("cart_clear");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  asService = await issuer.auth("orders", "service");
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
}, 60_000);
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

// Each test has its own users and orders.
let nextUser = 100;
let nextOrder = 1;
type Line = { product_id: number; quantity: number };

async function userWith(lines: Line[]) {
  const id = nextUser++;
  for (const line of lines) await db.sql`insert into user_cart (user_id, product_id, quantity) values (${id}, ${line.product_id}, ${line.quantity})`;
  return id;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = asService) {
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.headers = { ...headers, "content-type": "application/json" };
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: text ? (JSON.parse(text) as any) : null };
}

const clear = async (userId: number, orderId: number, items: Line[], headers = asService) => {
  const { status, body } = await call("POST", `/users/${userId}/cart/clear`, { order_id: orderId, items }, headers);
  return { status, body };
};
const cartOf = async (userId: number) => [...(await db.sql<Line[]>`select product_id, quantity from user_cart where user_id = ${userId} order by product_id`)];
const events = async () => [...(await db.sql<{ type: string; payload: unknown }[]>`select type, payload from outbox order by created_at, id`)];
/** Everything a refused or rejected call must leave as it was. */
const snapshot = async () => ({
  lines: [...(await db.sql`select * from user_cart order by user_id, product_id`)],
  clearings: [...(await db.sql`select * from cart_clearings order by order_id`)],
  outbox: [...(await db.sql`select id from outbox order by id`)],
});

describe("POST /users/:id/cart/clear", () => {
  test("takes the ordered quantities out: emptied lines go, the rest stays; one cart.changed with the lines left", async () => {
    const user = await userWith([
      { product_id: 1, quantity: 2 },
      { product_id: 2, quantity: 1 },
      { product_id: 3, quantity: 5 },
      { product_id: 4, quantity: 1 },
    ]);
    const order = nextOrder++;
    const res = await clear(user, order, [
      { product_id: 1, quantity: 2 },
      { product_id: 2, quantity: 1 },
      { product_id: 3, quantity: 2 },
    ]);
    expect(res).toEqual({ status: 200, body: { order_id: order, cleared: true, lines: 2 } });
    expect(await cartOf(user)).toEqual([
      { product_id: 3, quantity: 3 },
      { product_id: 4, quantity: 1 },
    ]);
    expect(await events()).toEqual([{ type: "cart.changed", payload: { user_id: user, items: 2 } }]);
    expect(wakes).toBe(1);
  });

  test("the whole cart ordered: the cart is empty and cart.changed says items 0", async () => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    const order = nextOrder++;
    expect((await clear(user, order, [{ product_id: 1, quantity: 1 }])).body).toEqual({ order_id: order, cleared: true, lines: 0 });
    expect(await cartOf(user)).toEqual([]);
    expect(await events()).toEqual([{ type: "cart.changed", payload: { user_id: user, items: 0 } }]);
  });

  test("once per order: the second call is a no-op 200 (one change, one event), even after the customer re-adds the product", async () => {
    const user = await userWith([{ product_id: 1, quantity: 3 }]);
    const order = nextOrder++;
    const items = [{ product_id: 1, quantity: 1 }];
    const first = await clear(user, order, items);
    expect(first.body).toEqual({ order_id: order, cleared: true, lines: 1 });
    expect(await clear(user, order, items)).toEqual(first);
    expect(await cartOf(user)).toEqual([{ product_id: 1, quantity: 2 }]);
    expect(await events()).toHaveLength(1);
    expect(wakes).toBe(1);
  });

  test("a line the customer added after checking out is kept, and so are units added to an ordered line", async () => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    // Checked out with one of product 1; then added product 7 and another product 1.
    await call("POST", `/users/${user}/cart`, { product_id: 7 });
    await call("POST", `/users/${user}/cart`, { product_id: 1 });
    await db.sql`delete from outbox`;
    wakes = 0;
    expect((await clear(user, nextOrder++, [{ product_id: 1, quantity: 1 }])).body.lines).toBe(2);
    expect(await cartOf(user)).toEqual([
      { product_id: 1, quantity: 1 },
      { product_id: 7, quantity: 1 },
    ]);
  });

  test("a line the customer lowered below the ordered quantity is deleted, never negative", async () => {
    const user = await userWith([{ product_id: 2, quantity: 1 }]);
    expect((await clear(user, nextOrder++, [{ product_id: 2, quantity: 4 }])).body.lines).toBe(0);
    expect(await cartOf(user)).toEqual([]);
  });

  test("nothing of the order left in the cart: 200, no event, and the order counts as cleared", async () => {
    const user = await userWith([{ product_id: 5, quantity: 1 }]);
    const order = nextOrder++;
    expect(await clear(user, order, [{ product_id: 9, quantity: 1 }])).toEqual({ status: 200, body: { order_id: order, cleared: true, lines: 1 } });
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
    // The customer now adds product 9; a retry of the same clearing must not take it.
    await db.sql`insert into user_cart (user_id, product_id, quantity) values (${user}, 9, 1)`;
    expect((await clear(user, order, [{ product_id: 9, quantity: 1 }])).body.lines).toBe(2);
    expect(await cartOf(user)).toEqual([
      { product_id: 5, quantity: 1 },
      { product_id: 9, quantity: 1 },
    ]);
  });

  test("another user's cart is never touched", async () => {
    const [user, other] = [await userWith([{ product_id: 1, quantity: 2 }]), await userWith([{ product_id: 1, quantity: 2 }])];
    await clear(user, nextOrder++, [{ product_id: 1, quantity: 2 }]);
    expect(await cartOf(other)).toEqual([{ product_id: 1, quantity: 2 }]);
  });

  test("the same order id for another user: 409 CONFLICT, nothing written", async () => {
    const [user, other] = [await userWith([{ product_id: 1, quantity: 2 }]), await userWith([{ product_id: 1, quantity: 2 }])];
    const order = nextOrder++;
    await clear(user, order, [{ product_id: 1, quantity: 1 }]);
    await db.sql`delete from outbox`;
    wakes = 0;
    const before = await snapshot();
    const res = await clear(other, order, [{ product_id: 1, quantity: 1 }]);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("CONFLICT");
    expect(JSON.stringify(res.body)).not.toContain(String(user));
    expect(await snapshot()).toEqual(before);
    expect(wakes).toBe(0);
  });

  test("order ids past int4 work (the column is bigint)", async () => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    expect((await clear(user, 2 ** 40, [{ product_id: 1, quantity: 1 }])).body).toEqual({ order_id: 2 ** 40, cleared: true, lines: 0 });
  });

  // The embedded fallback serves one connection, so only a real server can interleave these.
  test.skipIf(!process.env.TEST_DATABASE_URL)("the same order 10 times at once: one change, one event, the same answer each time", async () => {
    const user = await userWith([{ product_id: 1, quantity: 5 }]);
    const order = nextOrder++;
    const answers = await Promise.all(Array.from({ length: 10 }, () => clear(user, order, [{ product_id: 1, quantity: 2 }])));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(await cartOf(user)).toEqual([{ product_id: 1, quantity: 3 }]);
    expect(await events()).toHaveLength(1);
  });

  test.skipIf(!process.env.TEST_DATABASE_URL)("adds racing a clearing: the ordered units go once, every added unit stays", async () => {
    const user = await userWith([{ product_id: 1, quantity: 2 }]);
    const answers = await Promise.all([
      clear(user, nextOrder++, [{ product_id: 1, quantity: 2 }]),
      ...Array.from({ length: 5 }, () => call("POST", `/users/${user}/cart`, { product_id: 1 })),
    ]);
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(await cartOf(user)).toEqual([{ product_id: 1, quantity: 5 }]);
  });
});

describe("who may clear: services and admins", () => {
  const route = (user: number) => `/users/${user}/cart/clear`;
  const body = (order: number) => ({ order_id: order, items: [{ product_id: 1, quantity: 1 }] });

  async function refused(user: number, headers: Record<string, string>, payload: unknown = body(nextOrder++)) {
    const before = await snapshot();
    const res = await call("POST", route(user), payload, headers);
    expect(await snapshot()).toEqual(before);
    expect(wakes).toBe(0);
    return res;
  }

  test.each([
    ["the customer's own token", "own", "customer"],
    ["another customer's token", "other", "customer"],
    ["a courier's token", "other", "courier"],
  ] as const)("%s: 403 FORBIDDEN, nothing changed, even with input that would be a 400", async (_, whose, role) => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    const headers = await issuer.auth(whose === "own" ? user : 99_999, role as Role);
    for (const payload of [body(nextOrder++), {}, { order_id: 0, items: [] }]) {
      const res = await refused(user, headers, payload);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
  });

  test("no token, a token from another issuer, an expired one, a Basic header: 401 with a Bearer challenge, nothing changed", async () => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    const headers = [
      {},
      await stranger.auth("orders", "service"),
      { authorization: `Bearer ${await issuer.token("orders", "service", -60)}` },
      { authorization: `Basic ${btoa("admin:admin")}` },
    ];
    for (const h of headers) {
      const res = await refused(user, h);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
      expect(res.challenge).toStartWith("Bearer");
    }
  });

  test.each([
    ["a service's token", "orders", "service"],
    ["an admin's token", 1, "admin"],
  ] as const)("%s: allowed", async (_, sub, role) => {
    const user = await userWith([{ product_id: 1, quantity: 1 }]);
    expect(await clear(user, nextOrder++, [{ product_id: 1, quantity: 1 }], await issuer.auth(sub, role))).toMatchObject({ status: 200, body: { lines: 0 } });
  });
});

describe("bad input is 400 in the envelope and writes nothing", () => {
  const ok = { product_id: 1, quantity: 1 };
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ product_id: i + 1, quantity: 1 }));
  const cases: [string, string, unknown][] = [
    ...["0", "-1", "abc", "1.5", "01", "99999999999"].map((id): [string, string, unknown] => [`user ${id}`, `/users/${id}/cart/clear`, { order_id: 1, items: [ok] }]),
    ["no order_id", "/users/1/cart/clear", { items: [ok] }],
    ["order_id 0", "/users/1/cart/clear", { order_id: 0, items: [ok] }],
    ["a decimal order_id", "/users/1/cart/clear", { order_id: 1.5, items: [ok] }],
    ["order_id as a string", "/users/1/cart/clear", { order_id: "1", items: [ok] }],
    ["order_id past 2^53", "/users/1/cart/clear", { order_id: 2 ** 53, items: [ok] }],
    ["no items", "/users/1/cart/clear", { order_id: 1 }],
    ["empty items", "/users/1/cart/clear", { order_id: 1, items: [] }],
    ["101 items", "/users/1/cart/clear", { order_id: 1, items: items(101) }],
    ["a product twice", "/users/1/cart/clear", { order_id: 1, items: [ok, ok] }],
    ["quantity 0", "/users/1/cart/clear", { order_id: 1, items: [{ product_id: 1, quantity: 0 }] }],
    ["quantity 1000", "/users/1/cart/clear", { order_id: 1, items: [{ product_id: 1, quantity: 1000 }] }],
    ["no quantity", "/users/1/cart/clear", { order_id: 1, items: [{ product_id: 1 }] }],
    ["product_id 0", "/users/1/cart/clear", { order_id: 1, items: [{ product_id: 0, quantity: 1 }] }],
    ["an unknown item field", "/users/1/cart/clear", { order_id: 1, items: [{ ...ok, price_cents: 1 }] }],
    ["an unknown body field", "/users/1/cart/clear", { order_id: 1, items: [ok], user_id: 2 }],
    ["an array body", "/users/1/cart/clear", [{ order_id: 1, items: [ok] }]],
    ["malformed JSON", "/users/1/cart/clear", '{"order_id": 1,'],
    ["an empty body", "/users/1/cart/clear", ""],
  ];
  test.each(cases)("%s", async (_, path, body) => {
    const before = await snapshot();
    const res = await call("POST", path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(res.body)).not.toContain("    at ");
    expect(await snapshot()).toEqual(before);
  });

  test("exactly 100 items is fine", async () => {
    const user = await userWith([]);
    expect((await clear(user, nextOrder++, items(100))).status).toBe(200);
  });
});
