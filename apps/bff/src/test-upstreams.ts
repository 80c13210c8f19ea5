// Test kit for the BFF: fake upstream addresses, msw handlers for the happy path and an app built on them.
import { http, HttpResponse } from "msw";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "./app.ts";

/** Signs the tests' tokens; the test apps trust only it. */
export const issuer = await createTestIssuer();

export const urls = {
  products: "http://products.test",
  inventory: "http://inventory.test",
  cart: "http://cart.test",
  favorites: "http://favorites.test",
  notifications: "http://notifications.test",
  users: "http://users.test",
  orders: "http://orders.test",
  delivery: "http://delivery.test",
};

export const catalogue = [
  { product_id: 3, product_name: "Ceramic pour-over", price_cents: 2200 },
  { product_id: 1, product_name: "Espresso beans", price_cents: 2490 },
  { product_id: 2, product_name: "Filter coffee", price_cents: 1290 },
];

export const stock: Record<number, number> = { 1: 5, 2: 0, 3: 17 };

export const happyHandlers = [
  http.get(`${urls.products}/products`, () => HttpResponse.json(catalogue)),
  http.get(`${urls.inventory}/inventory`, ({ request }) => {
    const ids = new URL(request.url).searchParams.get("ids")!.split(",").map(Number);
    return HttpResponse.json(ids.filter((id) => id in stock).map((id) => ({ product_id: id, inventory: stock[id] })));
  }),
  http.get(`${urls.cart}/users/:id/cart`, () => HttpResponse.json([{ product_id: 1, quantity: 2 }, { product_id: 2, quantity: 1 }])),
  http.get(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.json([{ product_id: 1 }, { product_id: 2 }, { product_id: 3 }])),
];

export const DEADLINES = { productsMs: 150, inventoryMs: 150, writeMs: 150 };

/** The products cache is off unless a test is about it: each listing then calls products. */
export const NO_CACHE = { ttlMs: 0, swrMs: 0 };

export const testApp = () => createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: NO_CACHE });

// One token per user and role, as one client holds one: concurrent calls of a user may then share upstream calls.
const tokens = new Map<string, Promise<string>>();
const tokenOf = (user: string | number, role: Role = "customer") => {
  const key = `${user}/${role}`;
  if (!tokens.has(key)) tokens.set(key, issuer.token(user, role));
  return tokens.get(key)!;
};

/** `user`: the request carries that user's access token (role customer; `role` to change it). */
export async function call(app: ReturnType<typeof createApp>, path: string, init: RequestInit & { user?: string | number; role?: Role } = {}) {
  const headers = new Headers(init.headers);
  if (init.user !== undefined) headers.set("authorization", `Bearer ${await tokenOf(init.user, init.role)}`);
  if (init.body !== undefined) headers.set("content-type", "application/json");
  const started = performance.now();
  const res = await app.request(path, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, ms: performance.now() - started, headers: res.headers };
}
