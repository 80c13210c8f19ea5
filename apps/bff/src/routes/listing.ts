// GET /products/all: the listing. products, cart and favorites are called concurrently under one deadline
// (products required, the others optional), then one batch inventory call under its own deadline (optional).
// The products cache (products-cache.ts) decides whether products is called at all, and serves an old copy
// when it fails.
import { Hono } from "hono";
import { z } from "zod";
import { createDeadline } from "@storefront/shared/deadline";
import type { Counter } from "@storefront/shared/observability/metrics";
import type { RequestVariables, Timing } from "@storefront/shared/observability/request-context";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { positiveIntString, validate } from "@storefront/shared/validate";
import { gatewayError } from "../gateway-errors.ts";
import { countItems, toStock, type CatalogueItem, type ListedProduct } from "../listing-shapes.ts";
import type { UserVariables } from "../middleware/user-id.ts";
import type { ProductsCache } from "../products-cache.ts";

export const MAX_PAGE = 100;

export type ListingDeps = {
  catalogue: ProductsCache;
  inventory: UpstreamClient;
  cart: UpstreamClient;
  favorites: UpstreamClient;
  /** The one deadline of products, cart and favorites. */
  productsDeadlineMs: number;
  /** The deadline of the batch inventory call that follows. */
  inventoryDeadlineMs: number;
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

const serverTiming = (timings: Timing[]) => timings.map((t) => `${t.name};dur=${t.ms};desc="${t.outcome}"`).join(", ");

/**
 * An optional part: its count, or undefined when it failed or missed the deadline. It settles (never rejects)
 * from the moment it is created, so whichever call fails first, and whenever, nobody is left without a handler.
 */
const optional = (count: Promise<number>): Promise<number | undefined> => count.catch(() => undefined);

async function loadListing(deps: ListingDeps, caller: Caller, limit: number, after: number | undefined): Promise<Listing> {
  const { userId, requestId, timings } = caller;
  const degraded: string[] = [];
  const together = createDeadline(deps.productsDeadlineMs);
  const call = { deadline: together, requestId, timings };
  const productsPath = after === undefined ? `/products?limit=${limit}` : `/products?limit=${limit}&after=${after}`;
  const products = deps.catalogue.page(productsPath, call);
  const cart = userId === null ? null : optional(deps.cart.getJson(`/users/${userId}/cart`, call, (b) => countItems("cart", b)));
  const favorites = userId === null ? null : optional(deps.favorites.getJson(`/users/${userId}/favorites`, call, (b) => countItems("favorites", b)));

  let page;
  try {
    page = await products;
  } catch (err) {
    // Without products there is no listing: stop the optional calls now rather than at the deadline.
    together.abort();
    throw gatewayError("products", err);
  }
  const [cartItems, favoriteItems] = await Promise.all([cart, favorites]);
  together.abort(); // all settled; releases the timer
  if (page.stale) degraded.push("products");
  if (cartItems === undefined) degraded.push("cart");
  if (favoriteItems === undefined) degraded.push("favorites");

  const listed = await withInventory(deps, caller, page.items, degraded);
  const last = page.items.at(-1);
  const listing: Listing = {
    cart_items: cartItems ?? null,
    favorite_items: favoriteItems ?? null,
    products: listed,
    degraded,
    next_after: page.items.length === limit && last ? last.product_id : null,
  };
  if (page.stale) listing.stale = true;
  return listing;
}

async function withInventory(deps: ListingDeps, caller: Caller, catalogue: CatalogueItem[], degraded: string[]): Promise<ListedProduct[]> {
  let stock: Map<number, number> | undefined;
  if (catalogue.length > 0) {
    const ids = catalogue.map((p) => p.product_id).join(",");
    const call = { deadline: deps.inventoryDeadlineMs, requestId: caller.requestId, timings: caller.timings };
    try {
      stock = await deps.inventory.getJson(`/inventory?ids=${ids}`, call, toStock);
    } catch {
      degraded.push("inventory");
    }
  }
  return catalogue.map((p) => ({ product_id: p.product_id, product_name: p.product_name, inventory: stock?.get(p.product_id) ?? null }));
}
