// Stand-ins for the services the orders process calls (users, cart, products, inventory, payments), served over
// real HTTP for process-level fault tests. Small and in memory, but idempotent the way the real ones are: one
// reservation per order id, one charge per Idempotency-Key, a cart cleared once per order. Every effect is
// recorded, so a test can count charges. Each service is reached through a fault proxy of its own
// (shared/src/testing/fault-proxy.ts), so a test can refuse, blackhole or reset one of them alone.
import { randomUUID } from "node:crypto";
import { createFaultProxy, type FaultMode, type FaultProxy } from "@storefront/shared/testing/fault-proxy";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";

export type Line = { product_id: number; quantity: number };
export type Reservation = { order_id: number; status: "active" | "committed" | "released" | "returned"; items: Line[]; expires_at: string };
export type Payment = {
  payment_id: string;
  key: string;
  order_id: number;
  amount_cents: number;
  card_token: string;
  status: "processing" | "succeeded" | "declined" | "refunded";
  decline_reason: string | null;
};
/** One effect at a stand-in: what a test counts ("charge" twice for one order is a double charge). */
export type Effect = { kind: "reserve" | "commit" | "release" | "charge" | "refund" | "clear"; orderId: number };

export type ServiceName = "users" | "cart" | "products" | "inventory" | "payments";

export const SERVICE_CLIENT_ID = "orders";
export const SERVICE_TOKEN_TTL_S = 300;
/** Every user's cart unless a test sets another: 2 x product 1 at 500 and 1 x product 2 at 250, 1250 in all. */
export const DEFAULT_CART: readonly Line[] = [
  { product_id: 1, quantity: 2 },
  { product_id: 2, quantity: 1 },
];
export const DEFAULT_CART_TOTAL = 1250;
/** Like payments' tok_slow: the charge takes this long before it succeeds. */
export const SLOW_CARD = "tok_slow";
export const SLOW_CHARGE_MS = 3000;

export type StandIns = {
  /** Signs users' tokens; its key is what the users stand-in publishes. */
  issuer: TestIssuer;
  /** The URLs and client credentials for an orders process using these stand-ins (each URL is a proxy's). */
  env: Record<"USERS_URL" | "CART_URL" | "PRODUCTS_URL" | "INVENTORY_URL" | "PAYMENTS_URL" | "SERVICE_CLIENT_ID" | "SERVICE_CLIENT_SECRET", string>;
  proxies: Record<ServiceName, FaultProxy>;
  /** Puts one service's proxy in `mode` ({ kind: "pass" } to heal it). */
  fault(service: ServiceName, mode: FaultMode): Promise<void>;
  /** user_id -> cart lines; a user without an entry has DEFAULT_CART. */
  carts: Map<number, Line[]>;
  reservations: Map<number, Reservation>;
  payments: Payment[];
  effects: Effect[];
  /** The kinds of effect that happened for one order, in order. */
  effectsOf(orderId: number): Effect["kind"][];
  /** Service tokens handed out by the users stand-in. */
  tokensIssued(): number;
  /** Runs after a charge took effect and before its answer is sent: a test can cut the connection here. */
  afterCharge: ((payment: Payment) => Promise<void> | void) | undefined;
  stop(): Promise<void>;
};

const PRICES = new Map([
  [1, 500],
  [2, 250],
]);

const BEARER = /^Bearer +(\S+)$/i;
const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
  Response.json({ error: { ...extra, code, message } }, { status });
const body = async (req: Request) => (await req.json().catch(() => null)) as Record<string, any> | null;
const sorted = (lines: Line[]) => JSON.stringify([...lines].sort((x, y) => x.product_id - y.product_id));
const sameLines = (a: Line[], b: Line[]) => sorted(a) === sorted(b);

export async function startStandIns(): Promise<StandIns> {
  const issuer = await createTestIssuer();
  const secret = `stand-in-secret-${randomUUID()}`;
  const stock = new Map([
    [1, 10_000],
    [2, 10_000],
  ]);
  const carts = new Map<number, Line[]>();
  const cleared = new Set<number>();
  const reservations = new Map<number, Reservation>();
  const payments: Payment[] = [];
  const effects: Effect[] = [];
  let tokens = 0;

  const effect = (kind: Effect["kind"], orderId: number) => void effects.push({ kind, orderId });
  const paymentView = (p: Payment) => ({ payment_id: p.payment_id, order_id: p.order_id, amount_cents: p.amount_cents, status: p.status, decline_reason: p.decline_reason });

  /** Every route but the users service's own answers only a service token that verifies, as the real ones do. */
  async function refusal(req: Request): Promise<Response | undefined> {
    const token = BEARER.exec(req.headers.get("authorization") ?? "")?.[1];
    const identity = token ? await issuer.verifier.verify(token).catch(() => null) : null;
    if (!identity) return error(401, "UNAUTHENTICATED", "a valid access token is needed");
    if (identity.role !== "service") return error(403, "FORBIDDEN", "this route is for service or admin only");
    return undefined;
  }

  async function serviceToken(req: Request) {
    const b = await body(req);
    if (b?.client_id !== SERVICE_CLIENT_ID || b?.client_secret !== secret) return error(401, "INVALID_CREDENTIALS", "unknown client or wrong secret");
    tokens++;
    return Response.json({ access_token: await issuer.token(SERVICE_CLIENT_ID, "service", SERVICE_TOKEN_TTL_S), token_type: "Bearer", expires_in: SERVICE_TOKEN_TTL_S });
  }

  async function reserve(req: Request) {
    const b = await body(req);
    const orderId = Number(b?.order_id);
    const items = (b?.items ?? []) as Line[];
    const existing = reservations.get(orderId);
    if (existing) {
      if (!sameLines(existing.items, items)) return error(409, "CONFLICT", `order ${orderId} already has a reservation with other items`);
      return Response.json(existing, { status: 200 });
    }
    const short = items.filter((i) => (stock.get(i.product_id) ?? 0) < i.quantity);
    if (short.length) {
      const products = short.map((i) => ({ product_id: i.product_id, requested: i.quantity, available: stock.get(i.product_id) ?? 0 }));
      return error(409, "OUT_OF_STOCK", "not enough stock; nothing was reserved", { products });
    }
    for (const i of items) stock.set(i.product_id, stock.get(i.product_id)! - i.quantity);
    const reservation: Reservation = { order_id: orderId, status: "active", items, expires_at: new Date(Date.now() + 15 * 60_000).toISOString() };
    reservations.set(orderId, reservation);
    effect("reserve", orderId);
    return Response.json(reservation, { status: 201 });
  }

  function commit(orderId: number) {
    const r = reservations.get(orderId);
    if (!r) return error(404, "NOT_FOUND", `no reservation for order ${orderId}`);
    if (r.status === "active") {
      r.status = "committed";
      effect("commit", orderId);
    }
    if (r.status !== "committed") return error(409, "RESERVATION_EXPIRED", `the reservation for order ${orderId} is ${r.status}`, { status: r.status });
    return Response.json({ order_id: orderId, status: "committed" });
  }

  function release(orderId: number) {
    const r = reservations.get(orderId);
    if (!r) {
      reservations.set(orderId, { order_id: orderId, status: "released", items: [], expires_at: new Date().toISOString() });
    } else if (r.status === "active" || r.status === "committed") {
      for (const i of r.items) stock.set(i.product_id, stock.get(i.product_id)! + i.quantity);
      r.status = r.status === "active" ? "released" : "returned";
      effect("release", orderId);
    }
    return Response.json({ order_id: orderId, status: reservations.get(orderId)!.status });
  }

  async function charge(req: Request, stub: StandIns) {
    const key = req.headers.get("idempotency-key");
    if (!key) return error(400, "BAD_REQUEST", "the Idempotency-Key header is required");
    const b = await body(req);
    const orderId = Number(b?.order_id);
    const amount = Number(b?.amount_cents);
    const card = String(b?.card_token ?? "");
    const existing = payments.find((p) => p.key === key);
    if (existing) {
      const { payment_id } = existing;
      if (existing.order_id !== orderId || existing.amount_cents !== amount || existing.card_token !== card) {
        return error(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
      }
      if (existing.status === "processing") return error(409, "PAYMENT_IN_PROGRESS", "a charge with this Idempotency-Key is in progress", { payment_id });
      if (existing.status === "declined") return error(402, "PAYMENT_DECLINED", "the card was declined", { payment_id, decline_reason: existing.decline_reason });
      const replay = { payment_id, order_id: orderId, amount_cents: amount, status: "succeeded" };
      return Response.json(replay, { status: 201, headers: { "idempotent-replayed": "true" } });
    }
    const live = payments.find((p) => p.order_id === orderId && p.status !== "declined");
    if (live) return error(409, "CONFLICT", `order ${orderId} already has payment ${live.payment_id} under another Idempotency-Key`);
    const payment: Payment = { payment_id: randomUUID(), key, order_id: orderId, amount_cents: amount, card_token: card, status: "processing", decline_reason: null };
    payments.push(payment);
    // Like the real service, the charge runs to its end whether or not the caller is still there.
    if (card === SLOW_CARD) await Bun.sleep(SLOW_CHARGE_MS);
    if (card === "tok_decline") {
      payment.status = "declined";
      payment.decline_reason = "card_declined";
      return error(402, "PAYMENT_DECLINED", "the card was declined", { payment_id: payment.payment_id, decline_reason: "card_declined" });
    }
    payment.status = "succeeded";
    effect("charge", orderId);
    await stub.afterCharge?.(payment);
    return Response.json({ payment_id: payment.payment_id, order_id: orderId, amount_cents: amount, status: "succeeded" }, { status: 201 });
  }

  function refund(paymentId: string) {
    const p = payments.find((x) => x.payment_id === paymentId);
    if (!p) return error(404, "NOT_FOUND", `no payment ${paymentId}`);
    if (p.status === "declined") return error(409, "NOT_REFUNDABLE", `payment ${paymentId} was declined`);
    if (p.status === "processing") return error(409, "PAYMENT_IN_PROGRESS", `payment ${paymentId} is still being charged`);
    if (p.status === "succeeded") {
      p.status = "refunded";
      effect("refund", p.order_id);
    }
    return Response.json({ payment_id: paymentId, status: "refunded" });
  }

  async function clearCart(req: Request, userId: number) {
    const b = await body(req);
    const orderId = Number(b?.order_id);
    if (!cleared.has(orderId)) {
      cleared.add(orderId);
      const ordered = new Map(((b?.items ?? []) as Line[]).map((i) => [i.product_id, i.quantity]));
      const left = (carts.get(userId) ?? [...DEFAULT_CART])
        .map((l) => ({ ...l, quantity: l.quantity - (ordered.get(l.product_id) ?? 0) }))
        .filter((l) => l.quantity > 0);
      carts.set(userId, left);
      effect("clear", orderId);
    }
    return Response.json({ order_id: orderId, cleared: true, lines: carts.get(userId)!.length });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const { pathname, searchParams } = new URL(req.url);
      const route = `${req.method} ${pathname}`;
      if (route === "GET /.well-known/jwks.json") return Response.json(issuer.jwks);
      if (route === "POST /auth/service-token") return serviceToken(req);
      const refused = await refusal(req);
      if (refused) return refused;
      let m: RegExpMatchArray | null;
      if ((m = route.match(/^GET \/users\/(\d+)\/cart$/))) return Response.json(carts.get(Number(m[1])) ?? DEFAULT_CART);
      if ((m = route.match(/^POST \/users\/(\d+)\/cart\/clear$/))) return clearCart(req, Number(m[1]));
      if (route === "GET /products") {
        const ids = (searchParams.get("ids") ?? "").split(",").map(Number);
        return Response.json(ids.filter((id) => PRICES.has(id)).map((id) => ({ product_id: id, price_cents: PRICES.get(id)! })));
      }
      if (route === "POST /reservations") return reserve(req);
      if ((m = route.match(/^POST \/reservations\/(\d+)\/commit$/))) return commit(Number(m[1]));
      if ((m = route.match(/^POST \/reservations\/(\d+)\/release$/))) return release(Number(m[1]));
      if (route === "POST /payments") return charge(req, stub);
      if (route === "GET /payments") return Response.json(payments.filter((p) => p.order_id === Number(searchParams.get("order_id"))).map(paymentView));
      if ((m = route.match(/^POST \/payments\/([0-9a-f-]+)\/refund$/))) return refund(m[1]!);
      return error(404, "NOT_FOUND", `no stand-in for ${route}`);
    },
  });

  const names: ServiceName[] = ["users", "cart", "products", "inventory", "payments"];
  const opened = await Promise.all(names.map((name) => createFaultProxy({ upstreamPort: server.port! })));
  const proxies = Object.fromEntries(names.map((name, i) => [name, opened[i]!])) as Record<ServiceName, FaultProxy>;

  const stub: StandIns = {
    issuer,
    env: {
      USERS_URL: proxies.users.url,
      CART_URL: proxies.cart.url,
      PRODUCTS_URL: proxies.products.url,
      INVENTORY_URL: proxies.inventory.url,
      PAYMENTS_URL: proxies.payments.url,
      SERVICE_CLIENT_ID,
      SERVICE_CLIENT_SECRET: secret,
    },
    proxies,
    fault: (service, mode) => proxies[service].setMode(mode),
    carts,
    reservations,
    payments,
    effects,
    effectsOf: (orderId) => effects.filter((e) => e.orderId === orderId).map((e) => e.kind),
    tokensIssued: () => tokens,
    afterCharge: undefined,
    async stop() {
      await Promise.all(opened.map((proxy) => proxy.close()));
      await server.stop(true);
    },
  };
  return stub;
}
