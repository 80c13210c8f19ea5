// A stand-in for the BFF in the web app's tests: the routes the pages call, with the BFF's shapes and status
// codes (apps/bff/src/routes/*.ts), over in-memory state a test can read and change. Tokens are real JWTs from
// a test issuer, checked on every call (an expired one is a 401), and refresh tokens work once, as at the
// users service. Passed to createApp as `fetch` (no port), or served with Bun.serve for a process test.
// `fault` makes the whole BFF refuse connections, hang, or answer a status; `on` overrides one route.
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import type { FetchFn } from "@storefront/shared/upstream/client";
import { Hono, type Context } from "hono";

export type StubProduct = { product_id: number; product_name: string; price_cents?: number; inventory: number | null };
export type StubOrder = {
  order_id: number;
  user_id: number;
  status: string;
  total_cents: number;
  items: { product_id: number; quantity: number; price_cents: number }[];
  shipping_address: { name: string; line1: string; city: string; postal_code: string; country: string };
  delivery_date: string | null;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
  history: { step: string; outcome: string; at: string; detail: string | null }[];
  delivery: { status: string; courier_name: string | null; updated_at: string } | null;
};
export type StubNotification = { id: number; type: string; title: string; body: string; payload: Record<string, unknown>; created_at: string; read_at: string | null };
export type Seen = { method: string; path: string; authorization: string | null; idempotencyKey: string | null; requestId: string | null; body: unknown };
export type Fault = null | "refused" | "hang" | { status: number };
export type StubCourier = { courier_id: number; name: string; user_id: number };
export type StubDelivery = {
  order_id: number;
  user_id: number;
  status: "created" | "activated" | "done" | "canceled";
  shipping_address: { name: string; line1: string; city: string; postal_code: string; country: string };
  delivery_date: string | null;
  courier: { courier_id: number; name: string } | null;
  version: number;
  created_at: string;
  updated_at: string;
  history: { from: string | null; to: string; at: string; by: string }[];
};
export type StubChaos = { delay_ms: { min: number; max: number } | null; fail_rate: number };

/** GET /admin/status as the BFF answers it: two upstreams (inventory's breaker open), two queues, three outboxes. */
export const SEED_STATUS = {
  upstreams: [
    { name: "products", state: "closed", calls: 120, failures: 1, slow: 0, half_open_in_ms: null, latency_ms: { p50: 4.2, p99: 31, count: 120 } },
    { name: "inventory", state: "open", calls: 40, failures: 22, slow: 3, half_open_in_ms: 2500, latency_ms: { p50: 12, p99: 980, count: 40 } },
  ],
  queues: [
    { name: "notifications-order-events", waiting: 2, active: 1, delayed: 0, failed: 3 },
    { name: "delivery-order-events", waiting: 0, active: 0, delayed: 1, failed: 0 },
  ],
  outboxes: [
    { service: "orders", pending: 7 },
    { service: "inventory", pending: 0 },
    { service: "delivery", pending: null },
  ],
  redis: "up",
  generated_at: "2026-11-22T10:00:00.000Z",
};

export const SEED_PRODUCTS: StubProduct[] = [
  { product_id: 1, product_name: "Espresso beans 1 kg", price_cents: 2490, inventory: 5 },
  { product_id: 2, product_name: "Filter coffee 500 g", price_cents: 1290, inventory: 0 },
  { product_id: 3, product_name: "Ceramic pour-over", price_cents: 2200, inventory: 17 },
];
export const PASSWORD = "storefront-demo";

const envelope = (code: string, message: string, details: Record<string, unknown> = {}) => ({ error: { ...details, code, message } });
const at = "2026-11-22T10:00:00.000Z";

/** Demo accounts as the users service seeds them: user1..5 customers, admin, courier1. */
function account(email: string): { userId: number; role: Role } | null {
  const user = /^user([1-9][0-9]*)@storefront\.test$/.exec(email);
  if (user) return { userId: Number(user[1]), role: "customer" };
  if (email === "admin@storefront.test") return { userId: 100, role: "admin" };
  if (email === "courier1@storefront.test") return { userId: 200, role: "courier" };
  return null;
}

export async function createStubBff() {
  const issuer = await createTestIssuer();
  const state = {
    products: SEED_PRODUCTS.map((p) => ({ ...p })),
    degraded: [] as string[],
    carts: new Map<number, Map<number, number>>(),
    favorites: new Map<number, Set<number>>(),
    inbox: new Map<number, StubNotification[]>(),
    orders: new Map<number, StubOrder>(),
    accounts: new Map<string, { userId: number; role: Role; password: string; name: string }>(),
    refreshTokens: new Map<string, { userId: number; role: Role }>(),
    /** Lifetime of the access tokens it hands out, in seconds (negative: already expired). */
    accessTtlS: 900,
    fault: null as Fault,
    nextOrderId: 41,
    /** Units reserved per product id (on hand = inventory + reserved). */
    reserved: new Map<number, number>(),
    couriers: [{ courier_id: 1, name: "Courier One", user_id: 200 }] as StubCourier[],
    deliveries: new Map<number, StubDelivery>(),
    /** GET /admin/status's body (a test may null parts of it or replace it). */
    status: structuredClone(SEED_STATUS) as Record<string, unknown>,
    /** Inventory's switches; null: inventory runs without INVENTORY_CHAOS_SWITCHES (the BFF passes on its 404). */
    chaos: { delay_ms: null, fail_rate: 0 } as StubChaos | null,
  };
  const requests: Seen[] = [];
  const overrides: { method: string; path: string | RegExp; answer: (c: Context) => Response | Promise<Response> }[] = [];

  /** A pair for a user; the issuer's clock is real, so a negative ttl gives an access token that has expired. */
  async function pairFor(userId: number, role: Role) {
    const refresh = `refresh-${crypto.randomUUID()}`;
    state.refreshTokens.set(refresh, { userId, role });
    return { access_token: await issuer.token(userId, role, state.accessTtlS), token_type: "Bearer", expires_in: Math.max(1, state.accessTtlS), refresh_token: refresh };
  }

  const app = new Hono<{ Variables: { userId: number; role: Role } }>();
  app.use(async (c, next) => {
    const text = await c.req.raw.clone().text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    requests.push({
      method: c.req.method,
      path: `${c.req.path}${new URL(c.req.url).search}`,
      authorization: c.req.header("authorization") ?? null,
      idempotencyKey: c.req.header("idempotency-key") ?? null,
      requestId: c.req.header("x-request-id") ?? null,
      body,
    });
    const fault = state.fault;
    if (fault && typeof fault === "object") return c.json(envelope("INJECTED_FAILURE", "injected"), fault.status as 500);
    for (const o of overrides) {
      const matches = typeof o.path === "string" ? o.path === c.req.path : o.path.test(c.req.path);
      if (o.method === c.req.method && matches) return o.answer(c);
    }
    await next();
  });
  // Every route below but /products/all and /auth needs a user's token, as at the BFF.
  const needsUser = async (c: Context<{ Variables: { userId: number; role: Role } }>, next: () => Promise<void>) => {
    const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) return c.json(envelope("UNAUTHENTICATED", "this route needs an access token"), 401);
    try {
      const identity = await issuer.verifier.verify(token);
      c.set("userId", identity.userId!);
      c.set("role", identity.role);
    } catch {
      return c.json(envelope("UNAUTHENTICATED", "the token is expired or invalid"), 401);
    }
    await next();
  };
  for (const path of ["/cart", "/cart/*", "/favorites", "/favorites/*", "/notifications", "/notifications/*", "/checkout", "/orders", "/orders/*", "/auth/logout", "/admin/*", "/courier/*"]) app.use(path, needsUser);
  /** The BFF's role check (requireRole): 403 FORBIDDEN for any other role. */
  const onlyRole = (role: Role) => async (c: Context<{ Variables: { userId: number; role: Role } }>, next: () => Promise<void>) => {
    if (c.get("role") !== role) return c.json(envelope("FORBIDDEN", `this route needs the ${role} role`), 403);
    await next();
  };
  app.use("/admin/*", onlyRole("admin"));
  app.use("/courier/*", onlyRole("courier"));

  app.get("/products/all", async (c) => {
    // Like the BFF: a token that is sent must be valid, even here.
    const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    let userId: number | null = null;
    if (token) {
      try {
        userId = (await issuer.verifier.verify(token)).userId;
      } catch {
        return c.json(envelope("UNAUTHENTICATED", "the token is expired or invalid"), 401);
      }
    }
    const limit = Number(c.req.query("limit") ?? 100);
    const after = Number(c.req.query("after") ?? 0);
    const sorted = [...state.products].sort((a, b) => a.product_id - b.product_id).filter((p) => p.product_id > after);
    const page = sorted.slice(0, limit);
    const stockDown = state.degraded.includes("inventory");
    const last = page.at(-1);
    return c.json({
      cart_items: userId === null || state.degraded.includes("cart") ? null : (state.carts.get(userId)?.size ?? 0),
      favorite_items: userId === null || state.degraded.includes("favorites") ? null : (state.favorites.get(userId)?.size ?? 0),
      products: page.map((p) => ({ ...p, inventory: stockDown ? null : p.inventory })),
      degraded: state.degraded,
      next_after: page.length === limit && last ? last.product_id : null,
    });
  });

  const cartOf = (userId: number) => state.carts.get(userId) ?? state.carts.set(userId, new Map()).get(userId)!;
  const linesOf = (userId: number) => [...cartOf(userId)].map(([product_id, quantity]) => ({ product_id, quantity }));
  app.get("/cart", (c) => c.json(linesOf(c.get("userId"))));
  app.post("/cart", async (c) => {
    const { product_id, quantity = 1 } = await c.req.json<{ product_id: number; quantity?: number }>();
    const cart = cartOf(c.get("userId"));
    const next = (cart.get(product_id) ?? 0) + quantity;
    if (next > 999) return c.json(envelope("CONFLICT", "the line would pass 999"), 409);
    cart.set(product_id, next);
    return c.json({ product_id, quantity: next });
  });
  app.put("/cart/:id", async (c) => {
    const { quantity } = await c.req.json<{ quantity: number }>();
    cartOf(c.get("userId")).set(Number(c.req.param("id")), quantity);
    return c.json({ product_id: Number(c.req.param("id")), quantity });
  });
  app.delete("/cart/:id", (c) => {
    cartOf(c.get("userId")).delete(Number(c.req.param("id")));
    return c.body(null, 204);
  });

  const favoritesOf = (userId: number) => state.favorites.get(userId) ?? state.favorites.set(userId, new Set()).get(userId)!;
  app.get("/favorites", (c) => c.json([...favoritesOf(c.get("userId"))].map((product_id) => ({ product_id }))));
  app.post("/favorites", async (c) => {
    const { product_id } = await c.req.json<{ product_id: number }>();
    const favorites = favoritesOf(c.get("userId"));
    const added = !favorites.has(product_id);
    favorites.add(product_id);
    return c.json({ product_id }, added ? 201 : 200);
  });
  app.delete("/favorites/:id", (c) => {
    favoritesOf(c.get("userId")).delete(Number(c.req.param("id")));
    return c.body(null, 204);
  });

  app.get("/notifications", (c) => {
    const limit = Number(c.req.query("limit") ?? 20);
    const before = c.req.query("before") ? Number(c.req.query("before")) : Infinity;
    const items = (state.inbox.get(c.get("userId")) ?? []).filter((n) => n.id < before).sort((a, b) => b.id - a.id);
    return c.json(items.slice(0, limit));
  });
  app.post("/notifications/:id/read", (c) => {
    const item = (state.inbox.get(c.get("userId")) ?? []).find((n) => n.id === Number(c.req.param("id")));
    if (!item) return c.json(envelope("NOT_FOUND", "no such notification"), 404);
    item.read_at ??= at;
    return c.json(item);
  });

  // Checkout: one order per (user, key), its answer replayed (a concurrent one waits for the first, as at
  // orders); the outcome by card token, as payments' test cards.
  const placed = new Map<string, Promise<{ status: number; body: unknown }>>();
  app.post("/checkout", async (c) => {
    const userId = c.get("userId");
    const key = c.req.header("idempotency-key");
    if (!key) return c.json(envelope("BAD_REQUEST", "the Idempotency-Key header is required"), 400);
    const id = `${userId}/${key}`;
    let outcome = placed.get(id);
    if (!outcome) {
      outcome = c.req.json().then((body) => place(userId, body));
      placed.set(id, outcome);
    }
    const { status, body } = await outcome;
    return c.json(body as object, status as 201);
  });

  function place(userId: number, body: { shipping_address: StubOrder["shipping_address"]; delivery_date?: string; card_token: string }) {
    const lines = linesOf(userId);
    const answer = (status: number, payload: unknown) => ({ status, body: payload });
    if (lines.length === 0) return answer(400, envelope("CART_EMPTY", "the cart is empty"));
    const order_id = state.nextOrderId++;
    const short = lines
      .map((l) => ({ product_id: l.product_id, requested: l.quantity, available: state.products.find((p) => p.product_id === l.product_id)?.inventory ?? 0 }))
      .filter((l) => l.available < l.requested);
    if (short.length) return answer(409, envelope("OUT_OF_STOCK", "some products are out of stock", { products: short, order_id }));
    if (body.card_token === "tok_decline") return answer(402, envelope("PAYMENT_DECLINED", "payment declined", { order_id }));
    const items = lines.map((l) => ({ ...l, price_cents: state.products.find((p) => p.product_id === l.product_id)?.price_cents ?? 0 }));
    const total_cents = items.reduce((sum, i) => sum + i.price_cents * i.quantity, 0);
    const pending = body.card_token === "tok_slow";
    state.orders.set(order_id, {
      order_id,
      user_id: userId,
      status: pending ? "pending" : "confirmed",
      total_cents,
      items,
      shipping_address: body.shipping_address,
      delivery_date: body.delivery_date ?? null,
      cancel_reason: null,
      created_at: at,
      updated_at: at,
      history: [
        { step: "reserve", outcome: "succeeded", at, detail: null },
        { step: "charge", outcome: pending ? "retrying" : "succeeded", at, detail: null },
      ],
      delivery: pending ? null : { status: "activated", courier_name: null, updated_at: at },
    });
    if (!pending) cartOf(userId).clear();
    return pending ? answer(202, { order_id, status: "pending" }) : answer(201, { order_id, status: "confirmed", total_cents, items });
  }

  const ownOrder = (c: Context<{ Variables: { userId: number; role: Role } }>) => {
    const order = state.orders.get(Number(c.req.param("id")));
    return order && order.user_id === c.get("userId") ? order : null;
  };
  const publicOrder = ({ user_id: _, ...order }: StubOrder) => order;
  app.get("/orders", (c) => {
    const mine = [...state.orders.values()].filter((o) => o.user_id === c.get("userId")).sort((a, b) => b.order_id - a.order_id);
    return c.json({
      orders: mine.map((o) => ({ order_id: o.order_id, status: o.status, total_cents: o.total_cents, item_count: o.items.length, created_at: o.created_at })),
      next_after: null,
    });
  });
  app.get("/orders/:id", (c) => {
    const order = ownOrder(c);
    return order ? c.json(publicOrder(order)) : c.json(envelope("NOT_FOUND", "no such order"), 404);
  });
  app.post("/orders/:id/cancel", (c) => {
    const order = ownOrder(c);
    if (!order) return c.json(envelope("NOT_FOUND", "no such order"), 404);
    if (order.status === "shipped" || order.status === "delivered") return c.json(envelope("NOT_CANCELLABLE", "it has shipped"), 409);
    order.status = "cancelled";
    order.cancel_reason = "cancelled by the customer";
    return c.json(publicOrder(order));
  });

  app.post("/auth/login", async (c) => {
    const { email, password } = await c.req.json<{ email: string; password: string }>();
    const registered = state.accounts.get(email);
    const known = registered ? (registered.password === password ? registered : null) : password === PASSWORD ? account(email) : null;
    if (!known) return c.json(envelope("INVALID_CREDENTIALS", "wrong email or password"), 401);
    c.header("cache-control", "no-store");
    return c.json(await pairFor(known.userId, known.role));
  });
  app.post("/auth/register", async (c) => {
    const { email, password, name } = await c.req.json<{ email: string; password: string; name: string }>();
    if (account(email) || state.accounts.has(email)) return c.json(envelope("EMAIL_TAKEN", "an account with this email exists"), 409);
    const userId = 1000 + state.accounts.size;
    state.accounts.set(email, { userId, role: "customer", password, name });
    return c.json({ user_id: userId, email, name }, 201);
  });
  app.post("/auth/refresh", async (c) => {
    const { refresh_token } = await c.req.json<{ refresh_token: string }>();
    const owner = state.refreshTokens.get(refresh_token);
    if (!owner) return c.json(envelope("INVALID_CREDENTIALS", "the refresh token is unknown, expired, used or revoked"), 401);
    state.refreshTokens.delete(refresh_token); // works once
    return c.json(await pairFor(owner.userId, owner.role));
  });
  app.post("/auth/logout", (c) => {
    for (const [token, owner] of state.refreshTokens) if (owner.userId === c.get("userId")) state.refreshTokens.delete(token);
    return c.body(null, 204);
  });

  // The admin's routes (apps/bff/src/routes/admin.ts, admin-deliveries.ts) and the courier's (courier.ts).
  const stockOf = (p: StubProduct) => {
    const reserved = state.reserved.get(p.product_id) ?? 0;
    return { product_id: p.product_id, inventory: p.inventory ?? 0, on_hand: (p.inventory ?? 0) + reserved, reserved };
  };
  const productOf = (c: Context) => state.products.find((p) => p.product_id === Number(c.req.param("id")));
  app.get("/admin/products/:id/inventory", (c) => {
    const product = productOf(c);
    return product ? c.json(stockOf(product)) : c.json(envelope("NOT_FOUND", "no such product"), 404);
  });
  app.put("/admin/products/:id/inventory", async (c) => {
    const { inventory } = await c.req.json<{ inventory: unknown }>();
    if (typeof inventory !== "number" || !Number.isInteger(inventory) || inventory < 0) return c.json(envelope("BAD_REQUEST", "inventory: a whole number from 0"), 400);
    const product = productOf(c);
    if (!product) return c.json(envelope("NOT_FOUND", "no such product"), 404);
    const reserved = state.reserved.get(product.product_id) ?? 0;
    if (inventory < reserved) return c.json(envelope("CONFLICT", "below what is reserved"), 409);
    product.inventory = inventory - reserved;
    return c.json(stockOf(product));
  });
  app.patch("/admin/products/:id", async (c) => {
    const { price_cents } = await c.req.json<{ price_cents: unknown }>();
    if (typeof price_cents !== "number" || !Number.isInteger(price_cents) || price_cents < 0) return c.json(envelope("BAD_REQUEST", "price_cents"), 400);
    const product = productOf(c);
    if (!product) return c.json(envelope("NOT_FOUND", "no such product"), 404);
    product.price_cents = price_cents;
    return c.json({ ...product, description: "", sku: `SKU-${product.product_id}`, updated_at: at });
  });
  const deliveryPage = (c: Context, list: StubDelivery[]) => {
    const status = c.req.query("status");
    const after = Number(c.req.query("after") ?? 0);
    const limit = Number(c.req.query("limit") ?? 20);
    const page = list.filter((d) => (!status || d.status === status) && d.order_id > after).sort((a, b) => a.order_id - b.order_id);
    const items = page.slice(0, limit);
    return c.json({ deliveries: items, next_after: page.length > limit ? items.at(-1)!.order_id : null });
  };
  app.get("/admin/deliveries", (c) => deliveryPage(c, [...state.deliveries.values()]));
  app.get("/admin/couriers", (c) => c.json(state.couriers.map(({ courier_id, name }) => ({ courier_id, name }))));
  app.post("/admin/deliveries/:id/courier", async (c) => {
    const { courier_id } = await c.req.json<{ courier_id: number }>();
    const delivery = state.deliveries.get(Number(c.req.param("id")));
    if (!delivery) return c.json(envelope("NOT_FOUND", "no delivery for this order"), 404);
    const courier = state.couriers.find((k) => k.courier_id === courier_id);
    if (!courier) return c.json(envelope("NOT_FOUND", "no such courier"), 404);
    if (delivery.status !== "activated" || delivery.courier) {
      return c.json(envelope("INVALID_TRANSITION", "the delivery cannot be assigned", { status: delivery.status }), 409);
    }
    delivery.courier = { courier_id, name: courier.name };
    delivery.version++;
    return c.json(delivery);
  });
  const myDeliveries = (c: Context<{ Variables: { userId: number; role: Role } }>) => {
    const courier = state.couriers.find((k) => k.user_id === c.get("userId"));
    return [...state.deliveries.values()].filter((d) => courier && d.courier?.courier_id === courier.courier_id);
  };
  app.get("/courier/deliveries", (c) => deliveryPage(c, myDeliveries(c)));
  app.post("/courier/deliveries/:id/done", (c) => {
    const delivery = myDeliveries(c).find((d) => d.order_id === Number(c.req.param("id")));
    if (!delivery) return c.json(envelope("NOT_FOUND", "no such delivery"), 404);
    if (delivery.status !== "activated") return c.json(envelope("INVALID_TRANSITION", "not activated", { status: delivery.status }), 409);
    delivery.status = "done";
    delivery.history.push({ from: "activated", to: "done", at, by: "courier 1" });
    return c.json(delivery);
  });
  app.get("/admin/status", (c) => c.json(state.status));
  app.put("/admin/chaos/inventory", async (c) => {
    if (state.chaos === null) return c.json(envelope("NOT_FOUND", "no such route"), 404);
    const body = await c.req.json<StubChaos>();
    if (typeof body.fail_rate !== "number" || body.fail_rate < 0 || body.fail_rate > 1) return c.json(envelope("BAD_REQUEST", "fail_rate: 0..1"), 400);
    state.chaos = body;
    return c.json(body);
  });

  const fetch: FetchFn = async (input, init) => {
    const fault = state.fault;
    if (fault === "refused") throw new TypeError("Unable to connect. Is the computer able to access the url?");
    if (fault === "hang") {
      return new Promise<Response>((_, reject) => {
        const signal = init?.signal;
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    return app.fetch(input instanceof Request ? new Request(input, init) : new Request(String(input), init));
  };

  return {
    app,
    /** createApp's `fetch`: requests to any host reach this stub. */
    fetch,
    state,
    /** Every request the stub received, in order. */
    requests,
    issuer,
    pairFor,
    /** Answer `method path` (a path or a pattern) with `answer` instead, until reset(). */
    on(method: string, path: string | RegExp, answer: (c: Context) => Response | Promise<Response>) {
      overrides.push({ method, path, answer });
    },
    reset() {
      overrides.length = 0;
      requests.length = 0;
      state.fault = null;
      state.degraded = [];
    },
  };
}

export type StubBff = Awaited<ReturnType<typeof createStubBff>>;
