// Stand-ins for products, inventory, cart, favorites, notifications, orders, delivery and users (its JWKS) on one real port, for
// the BFF's process-level fault tests: fixed data, and every write recorded by its x-request-id so a test can
// tell whether one reached the service more than once. User routes answer only calls carrying a Bearer token.
export type FaultStubs = {
  port: number;
  url: string;
  catalogue: { product_id: number; product_name: string; price_cents: number }[];
  /** What GET /couriers answers. */
  couriers: { courier_id: number; name: string }[];
  /** Lines in every user's cart. */
  cartLines: number;
  /** A mark to pass to writesSince(). */
  writesSeen(): number;
  /** x-request-id -> how many times it reached a write route, for the writes after the mark. */
  writesSince(mark: number): Map<string, number>;
  stop(): Promise<void>;
};

/** `jwks`: what the stand-in users service publishes (a test issuer's keys). */
export function startFaultStubs(jwks: { keys: object[] }): FaultStubs {
  const catalogue = [1, 2, 3, 4, 5].map((id) => ({ product_id: id, product_name: `Product ${id}`, price_cents: 100 * id }));
  const cartLines = 2;
  const couriers = [
    { courier_id: 1, name: "Courier One" },
    { courier_id: 2, name: "Courier Two" },
  ];
  const at = "2026-11-22T10:00:00.000Z";
  const doneDelivery = (orderId: number) => ({
    order_id: orderId,
    user_id: 5,
    status: "done",
    shipping_address: { name: "Ada", line1: "1 Road", city: "Town", postal_code: "1000", country: "BE" },
    delivery_date: null,
    courier: couriers[0],
    version: 4,
    created_at: at,
    updated_at: at,
    history: [{ from: "activated", to: "done", at, by: "courier 1" }],
  });
  const writes: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const { pathname, searchParams } = new URL(req.url);
      if (req.method === "GET" && pathname === "/.well-known/jwks.json") return Response.json(jwks);
      if (pathname.startsWith("/users/") && !req.headers.get("authorization")?.startsWith("Bearer ")) {
        return Response.json({ error: { code: "UNAUTHENTICATED", message: "the BFF did not pass the user's token on" } }, { status: 401 });
      }
      if (req.method === "GET" && pathname === "/products") return Response.json(catalogue);
      if (req.method === "GET" && pathname === "/inventory") {
        const ids = (searchParams.get("ids") ?? "").split(",").map(Number);
        return Response.json(ids.map((id) => ({ product_id: id, inventory: id * 10 })));
      }
      if (req.method === "GET" && /^\/users\/\d+\/cart$/.test(pathname)) {
        return Response.json(Array.from({ length: cartLines }, (_, i) => ({ product_id: i + 1, quantity: 1 })));
      }
      if (req.method === "GET" && /^\/users\/\d+\/favorites$/.test(pathname)) return Response.json([{ product_id: 1 }, { product_id: 2 }, { product_id: 3 }]);
      if (req.method === "POST" && /^\/users\/\d+\/(cart|favorites)$/.test(pathname)) {
        writes.push(req.headers.get("x-request-id") ?? "(none)");
        return Response.json(await req.json(), { status: 201 });
      }
      if (req.method === "GET" && /^\/users\/\d+\/notifications$/.test(pathname)) return Response.json([]);
      if (req.method === "POST" && /^\/users\/\d+\/orders$/.test(pathname)) {
        // Orders refuses a checkout without its key: a BFF that dropped the header would fail the cell.
        if (!req.headers.get("idempotency-key")) return Response.json({ error: { code: "BAD_REQUEST", message: "Idempotency-Key is required" } }, { status: 400 });
        writes.push(req.headers.get("x-request-id") ?? "(none)");
        return Response.json({ order_id: writes.length, status: "confirmed", total_cents: 0, items: [] }, { status: 201 });
      }
      if (req.method === "GET" && /^\/users\/\d+\/orders$/.test(pathname)) return Response.json({ orders: [], next_after: null });
      // Delivery: the couriers, and a courier marking a delivery done (a write).
      if (/^\/(couriers|deliveries)(\/|$)/.test(pathname) && !req.headers.get("authorization")?.startsWith("Bearer ")) {
        return Response.json({ error: { code: "UNAUTHENTICATED", message: "the BFF did not pass the caller's token on" } }, { status: 401 });
      }
      if (req.method === "GET" && pathname === "/couriers") return Response.json(couriers);
      const done = /^\/couriers\/me\/deliveries\/(\d+)\/done$/.exec(pathname);
      if (req.method === "POST" && done) {
        writes.push(req.headers.get("x-request-id") ?? "(none)");
        return Response.json(doneDelivery(Number(done[1])));
      }
      return Response.json({ error: { code: "NOT_FOUND", message: `no stub for ${req.method} ${pathname}` } }, { status: 404 });
    },
  });
  return {
    port: server.port!,
    url: `http://127.0.0.1:${server.port}`,
    catalogue,
    couriers,
    cartLines,
    writesSeen: () => writes.length,
    writesSince(mark) {
      const counts = new Map<string, number>();
      for (const id of writes.slice(mark)) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    },
    stop: () => server.stop(true),
  };
}
