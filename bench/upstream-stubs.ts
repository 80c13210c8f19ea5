// Static stand-ins for the five services a BFF calls, served from the bench process: the same ten products,
// their stock, three cart lines and three favorites for any user, and the users service's JWKS. No database and
// no token check behind them, so two BFFs measured on them differ only in their own work. One server per
// service (as in production, each upstream has its own keep-alive pool); every request is counted.
import { JWKS_PATH } from "../shared/src/auth/remote-keys.ts";
import type { PublicJwk } from "../shared/src/auth/keys.ts";
import type { BenchService } from "./databases.ts";
import { freePort, type UpstreamUrls } from "./stack.ts";

export type UpstreamStubs = {
  urls: UpstreamUrls;
  /** Requests answered so far, all servers together (readiness probes included). */
  requests(): number;
  close(): Promise<void>;
};

export const STUB_PRODUCTS = 10;
export const STUB_LINES = 3;

const ids = Array.from({ length: STUB_PRODUCTS }, (_, i) => i + 1);
const BODIES = {
  products: JSON.stringify(ids.map((id) => ({ product_id: id, product_name: `Product ${id}`, price_cents: 1000 + 100 * id }))),
  inventory: JSON.stringify(ids.map((id) => ({ product_id: id, inventory: 10 * id }))),
  cart: JSON.stringify(ids.slice(0, STUB_LINES).map((id) => ({ product_id: id, quantity: 1 }))),
  favorites: JSON.stringify(ids.slice(0, STUB_LINES).map((id) => ({ product_id: id }))),
};

export async function startUpstreamStubs(publicJwk: PublicJwk): Promise<UpstreamStubs> {
  let requests = 0;
  const json = (body: string) => () => {
    requests++;
    return new Response(body, { headers: { "content-type": "application/json" } });
  };
  const routes = {
    "/products": json(BODIES.products),
    "/inventory": json(BODIES.inventory),
    "/users/:id/cart": json(BODIES.cart),
    "/users/:id/favorites": json(BODIES.favorites),
    [JWKS_PATH]: json(JSON.stringify({ keys: [publicJwk] })),
    "/ready": json('{"status":"ready"}'),
  };
  const names: BenchService[] = ["users", "products", "inventory", "favorites", "cart"];
  const servers: ReturnType<typeof Bun.serve>[] = [];
  try {
    for (const _ of names) {
      servers.push(
        Bun.serve({
          hostname: "127.0.0.1",
          port: await freePort(),
          routes,
          fetch: () => {
            requests++;
            return new Response('{"error":{"code":"NOT_FOUND","message":"not stubbed"}}', { status: 404, headers: { "content-type": "application/json" } });
          },
        }),
      );
    }
  } catch (err) {
    for (const server of servers) await server.stop(true);
    throw err;
  }
  const urls = Object.fromEntries(names.map((name, i) => [name, `http://127.0.0.1:${servers[i]!.port}`])) as UpstreamUrls;
  return {
    urls,
    requests: () => requests,
    close: async () => void (await Promise.all(servers.map((s) => s.stop(true)))),
  };
}
