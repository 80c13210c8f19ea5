// GET /products/all: the listing. products, cart and favorites are called concurrently under one deadline
// (products required, the others optional), then one batch inventory call under its own deadline (optional).
// When products fails, the last good copy is served if it is fresh enough (stale-if-error).
import { Hono } from "hono";
import { z } from "zod";
import { createDeadline, DeadlineExceededError, type Deadline } from "@storefront/shared/deadline";
import { positiveIntString, validate } from "@storefront/shared/validate";
import { gatewayError } from "../gateway-errors.ts";
import { countItems, toCatalogue, toStock, type CatalogueItem, type ListedProduct } from "../listing-shapes.ts";
import type { Counter } from "@storefront/shared/observability/metrics";
import type { RequestVariables, Timing } from "@storefront/shared/observability/request-context";
import type { UserVariables } from "../middleware/user-id.ts";
import type { StaleCache } from "../stale-cache.ts";
import type { Upstream } from "../upstream.ts";

export const MAX_PAGE = 100;

export type ListingDeps = {
  products: Upstream;
  inventory: Upstream;
  cart: Upstream;
  favorites: Upstream;
  productsDeadlineMs: number;
  inventoryDeadlineMs: number;
  /** Last good catalogue page per products path. */
  staleProducts: StaleCache<CatalogueItem[]>;
  /** The oldest copy served when products fails (stale-if-error). */
  productsStaleMaxMs: number;
  /** A copy younger than this is served without calling products. */
  productsCacheTtlMs: number;
  /** After the TTL, a copy is still served for this long while one background call refreshes it. */
  productsCacheSwrMs: number;
  /** Pages whose background refresh is running. */
  productsRefreshing: Set<string>;
  /** bff_listing_degraded_total{part} */
  degradedTotal?: Counter;
};

export type Listing = {
  cart_items: number | null;
  favorite_items: number | null;
  products: ListedProduct[];
  /** Parts that were dropped or served from an old copy: "products", "cart", "favorites", "inventory". */
  degraded: string[];
  /** Pass as `after` for the next page; null on the last page. */
  next_after: number | null;
  /** Present (true) only when products came from the last good copy. */
  stale?: true;
};

const listingQuery = z.strictObject({
  limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
  after: positiveIntString.optional(),
});

const ignore = () => {};

export const listingRoutes = (deps: ListingDeps) =>
  new Hono<{ Variables: UserVariables & RequestVariables }>().get("/all", validate("query", listingQuery), async (c) => {
    const { limit = MAX_PAGE, after } = c.req.valid("query");
    const timings = c.get("timings");
    const listing = await loadListing(deps, { userId: c.get("userId"), requestId: c.get("requestId"), timings }, limit, after);
    for (const part of listing.degraded) deps.degradedTotal?.inc([part]);
    c.header("server-timing", serverTiming(timings));
    return c.json(listing);
  });

type Caller = { userId: number | null; requestId: string; timings: Timing[] };

/** Records how long `work` took and how it ended, for the log line and Server-Timing. */
function timed<T>(timings: Timing[], name: string, work: Promise<T>): Promise<T> {
  const started = performance.now();
  const done = (outcome: string) => timings.push({ name, ms: Math.round((performance.now() - started) * 100) / 100, outcome });
  return work.then(
    (value) => {
      done("ok");
      return value;
    },
    (error) => {
      done(error instanceof DeadlineExceededError ? "timeout" : "failed");
      throw error;
    },
  );
}

const serverTiming = (timings: Timing[]) => timings.map((t) => `${t.name};dur=${t.ms};desc="${t.outcome}"`).join(", ");

async function loadListing(deps: ListingDeps, caller: Caller, limit: number, after: number | undefined): Promise<Listing> {
  const { userId, requestId, timings } = caller;
  const degraded: string[] = [];
  const first = createDeadline(deps.productsDeadlineMs);
  const productsPath = after === undefined ? `/products?limit=${limit}` : `/products?limit=${limit}&after=${after}`;
  const products = catalogueFor(deps, productsPath, first, caller);
  const cart =
    userId === null
      ? null
      : timed(timings, "cart", first.race(deps.cart.getJson(`/users/${userId}/cart`, first, requestId).then((b) => countItems("cart", b))));
  const favorites =
    userId === null
      ? null
      : timed(
          timings,
          "favorites",
          first.race(deps.favorites.getJson(`/users/${userId}/favorites`, first, requestId).then((b) => countItems("favorites", b))),
        );

  let catalogue: CatalogueItem[];
  let stale = false;
  try {
    catalogue = await products;
  } catch (err) {
    const kept = deps.staleProducts.get(productsPath);
    const copy = kept && kept.ageMs <= deps.productsStaleMaxMs ? kept.value : undefined;
    if (!copy) {
      // Without products there is no listing: stop the optional calls now rather than at the deadline.
      cart?.catch(ignore);
      favorites?.catch(ignore);
      first.abort();
      throw gatewayError("products", err);
    }
    catalogue = copy;
    stale = true;
    degraded.push("products");
  }
  const [cartItems, favoriteItems] = await Promise.all([optional(cart), optional(favorites)]);
  first.abort(); // all settled; releases the timer
  if (cartItems === undefined) degraded.push("cart");
  if (favoriteItems === undefined) degraded.push("favorites");

  const listed = await withInventory(deps, caller, catalogue, degraded);
  const last = catalogue.at(-1);
  const listing: Listing = {
    cart_items: cartItems ?? null,
    favorite_items: favoriteItems ?? null,
    products: listed,
    degraded,
    next_after: catalogue.length === limit && last ? last.product_id : null,
  };
  if (stale) listing.stale = true;
  return listing;
}

/** The catalogue page: from the cache while fresh (or stale-while-revalidate), else from products (and cached). */
function catalogueFor(deps: ListingDeps, path: string, deadline: Deadline, caller: Caller): Promise<CatalogueItem[]> {
  const cached = deps.staleProducts.get(path);
  if (cached && cached.ageMs < deps.productsCacheTtlMs + deps.productsCacheSwrMs) {
    if (cached.ageMs >= deps.productsCacheTtlMs) refreshInBackground(deps, path, caller.requestId);
    caller.timings.push({ name: "products", ms: 0, outcome: "cache" });
    return Promise.resolve(cached.value);
  }
  return timed(caller.timings, "products", deadline.race(fetchCatalogue(deps, path, deadline, caller.requestId)));
}

const fetchCatalogue = (deps: ListingDeps, path: string, deadline: Deadline, requestId: string) =>
  deps.products.getJson(path, deadline, requestId).then((body) => {
    const catalogue = toCatalogue(body);
    deps.staleProducts.put(path, catalogue);
    return catalogue;
  });

/** One refresh per page at a time, under its own deadline; its failure leaves the copy as it is. */
function refreshInBackground(deps: ListingDeps, path: string, requestId: string) {
  const keys = deps.productsRefreshing;
  if (keys.has(path)) return;
  keys.add(path);
  const deadline = createDeadline(deps.productsDeadlineMs);
  deadline
    .race(fetchCatalogue(deps, path, deadline, requestId))
    .catch(() => {})
    .finally(() => {
      deadline.abort();
      keys.delete(path);
    });
}

async function withInventory(deps: ListingDeps, caller: Caller, catalogue: CatalogueItem[], degraded: string[]): Promise<ListedProduct[]> {
  let stock: Map<number, number> | undefined;
  if (catalogue.length > 0) {
    const second = createDeadline(deps.inventoryDeadlineMs);
    const ids = catalogue.map((p) => p.product_id).join(",");
    try {
      stock = toStock(await timed(caller.timings, "inventory", second.race(deps.inventory.getJson(`/inventory?ids=${ids}`, second, caller.requestId))));
    } catch {
      degraded.push("inventory");
    } finally {
      second.abort();
    }
  }
  return catalogue.map((p) => ({ product_id: p.product_id, product_name: p.product_name, inventory: stock?.get(p.product_id) ?? null }));
}

/** An optional part: its value, null when not asked for, undefined when it failed or missed the deadline. */
async function optional(call: Promise<number> | null): Promise<number | null | undefined> {
  if (call === null) return null;
  try {
    return await call;
  } catch {
    return undefined;
  }
}

