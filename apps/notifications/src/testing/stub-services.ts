// Test stand-ins for the favorites and cart services: a real Bun.serve on a free port (so the worker's real
// fetch, deadline and breaker are exercised, in this process or a spawned one), answering from maps the
// test fills. `hold` lets a test keep a favorites answer pending for as long as it likes.
export type FavoritesRequest = { productId: number; after: number; limit: number };

export type StubServices = {
  url: string;
  /** product_id -> user_ids who favorited it */
  favorites: Map<number, number[]>;
  /** Products the stub answers 404 for (as if the favorites service knew the product does not exist). */
  unknownProducts: Set<number>;
  /** user_id -> number of cart lines */
  carts: Map<number, number>;
  favoritesRequests: FavoritesRequest[];
  /** A status to answer a cart read with instead of the data, or undefined for the data. */
  cartFailWith: ((userId: number) => number | undefined) | undefined;
  /** Runs before each favorited-by answer; the answer waits for the returned promise. */
  hold: ((request: FavoritesRequest) => Promise<void> | void) | undefined;
  /** A status to answer favorited-by with instead of the data (e.g. 503), or undefined for the data. */
  failWith: ((request: FavoritesRequest) => number | undefined) | undefined;
  stop(): Promise<void>;
};

export function startStubServices(): StubServices {
  const stubs: Omit<StubServices, "url" | "stop"> = {
    favorites: new Map(),
    unknownProducts: new Set(),
    carts: new Map(),
    favoritesRequests: [],
    hold: undefined,
    failWith: undefined,
    cartFailWith: undefined,
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const favoritedBy = url.pathname.match(/^\/products\/(\d+)\/favorited-by$/);
      if (favoritedBy) {
        const request = { productId: Number(favoritedBy[1]), after: Number(url.searchParams.get("after") ?? 0), limit: Number(url.searchParams.get("limit") ?? 500) };
        stubs.favoritesRequests.push(request);
        await stubs.hold?.(request);
        const failure = stubs.failWith?.(request);
        if (failure) return Response.json({ error: { code: "INJECTED_FAILURE", message: "stub failure" } }, { status: failure });
        if (stubs.unknownProducts.has(request.productId)) return Response.json({ error: { code: "NOT_FOUND", message: "unknown product" } }, { status: 404 });
        const users = [...(stubs.favorites.get(request.productId) ?? [])].sort((a, b) => a - b);
        return Response.json(users.filter((u) => u > request.after).slice(0, request.limit).map((user_id) => ({ user_id })));
      }
      const cart = url.pathname.match(/^\/users\/(\d+)\/cart$/);
      if (cart) {
        const failure = stubs.cartFailWith?.(Number(cart[1]));
        if (failure) return Response.json({ error: { code: "INJECTED_FAILURE", message: "stub failure" } }, { status: failure });
        const lines = stubs.carts.get(Number(cart[1])) ?? 0;
        return Response.json(Array.from({ length: lines }, (_, i) => ({ product_id: i + 1, quantity: 1 })));
      }
      return Response.json({ error: { code: "NOT_FOUND", message: "no such route" } }, { status: 404 });
    },
  });
  return Object.assign(stubs, { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) });
}
