// GET /products/all: the listing. products, cart and favorites are called concurrently under one deadline
// (products required, the others optional), then one batch inventory call under its own deadline (optional).
// The products cache (products-cache.ts) decides whether products is called at all, and serves an old copy
// when it fails.
import { createRoute, z } from "@hono/zod-openapi";
import { createDeadline } from "@storefront/shared/deadline";
import type { Counter } from "@storefront/shared/observability/metrics";
import type { RequestVariables, Timing } from "@storefront/shared/observability/request-context";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { positiveInt, positiveIntString } from "@storefront/shared/validate";
import { gatewayError } from "../gateway-errors.ts";
import { countItems, toStock, type CatalogueItem, type ListedProduct } from "../listing-shapes.ts";
import type { AuthVariables, Identity } from "@storefront/shared/auth/identity";
import { bearerOf } from "../forward.ts";
import type { ProductsCache } from "../products-cache.ts";
import { acceptsToken, errorResponses, jsonResponse } from "../openapi/responses.ts";
import { openApiRouter } from "../openapi/router.ts";

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

/** The parts of a listing that can be dropped (or, for products, served from an old copy). */
export const LISTING_PARTS = ["products", "cart", "favorites", "inventory"] as const;
type Part = (typeof LISTING_PARTS)[number];

const count = z.number().int().min(0);
export const Listing = z
  .strictObject({
    cart_items: count.nullable().openapi({ description: "Lines in the caller's cart; null when anonymous or when cart did not answer in time." }),
    favorite_items: count.nullable().openapi({ description: "The caller's favorites; null when anonymous or when favorites did not answer in time." }),
    products: z.array(
      z
        .strictObject({
          product_id: positiveInt,
          product_name: z.string(),
          price_cents: count.openapi({ description: "The product's price in cents, from products (never degraded: it comes with the name)." }),
          inventory: count.nullable().openapi({ description: "Available stock (on hand minus what is reserved for orders); null when inventory did not answer in time." }),
        })
        .openapi("ListedProduct"),
    ),
    degraded: z.array(z.enum(LISTING_PARTS)).openapi({ description: "Parts that were dropped or, for products, served from an old copy." }),
    next_after: positiveInt.nullable().openapi({ description: "Pass as `after` for the next page; null on the last page." }),
    stale: z.literal(true).optional().openapi({ description: "Present only when products came from the last good copy." }),
  })
  .openapi("Listing");
export type Listing = z.infer<typeof Listing>;

const listingQuery = z.strictObject({
  limit: positiveIntString
    .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional()
    .openapi({ description: `Products per page, 1-${MAX_PAGE}; ${MAX_PAGE} when left out.`, example: "20" }),
  after: positiveIntString.optional().openapi({ description: "The `next_after` of the previous page." }),
});

const listing = createRoute({
  method: "get",
  path: "/all",
  tags: ["products"],
  summary: "The product listing",
  description:
    "Products with their stock, a page at a time, and with an access token the caller's cart and favorites counts. " +
    "Parts other than products that fail or are late are left out (null) and named in `degraded`, rather than failing the listing.",
  security: acceptsToken,
  request: { query: listingQuery },
  responses: {
    200: {
      ...jsonResponse("The listing.", Listing),
      headers: { "Server-Timing": { description: "How long each upstream took, and how it ended.", schema: { type: "string" } } },
    },
    ...errorResponses([400, 401], {
      502: "UPSTREAM_ERROR: products failed and no recent copy of the page was kept.",
      503: "UPSTREAM_UNAVAILABLE: products keeps failing and no recent copy was kept; or AUTH_UNAVAILABLE.",
      504: "UPSTREAM_TIMEOUT: products did not answer within its deadline and no recent copy was kept.",
    }),
  },
});

export const listingRoutes = (deps: ListingDeps) =>
  openApiRouter<{ Variables: AuthVariables & RequestVariables }>().openapi(listing, async (c) => {
    const { limit = MAX_PAGE, after } = c.req.valid("query");
    const timings = c.get("timings");
    const page = await loadListing(deps, { identity: c.get("identity"), requestId: c.get("requestId"), timings }, limit, after);
    for (const part of page.degraded) deps.degradedTotal?.inc([part]);
    c.header("server-timing", serverTiming(timings));
    return c.json(page, 200);
  });

type Caller = { identity: Identity | null; requestId: string; timings: Timing[] };

const serverTiming = (timings: Timing[]) => timings.map((t) => `${t.name};dur=${t.ms};desc="${t.outcome}"`).join(", ");

/**
 * An optional part: its count, or undefined when it failed or missed the deadline. It settles (never rejects)
 * from the moment it is created, so whichever call fails first, and whenever, nobody is left without a handler.
 */
const optional = (count: Promise<number>): Promise<number | undefined> => count.catch(() => undefined);

async function loadListing(deps: ListingDeps, caller: Caller, limit: number, after: number | undefined): Promise<Listing> {
  const { identity, requestId, timings } = caller;
  // Personalised for a user's token; anonymous (no cart, no favorites) without one, or for a service's.
  const userId = identity?.userId ?? null;
  const degraded: Part[] = [];
  const together = createDeadline(deps.productsDeadlineMs);
  const call = { deadline: together, requestId, timings };
  const asUser = { ...call, headers: bearerOf(identity) };
  const productsPath = after === undefined ? `/products?limit=${limit}` : `/products?limit=${limit}&after=${after}`;
  const products = deps.catalogue.page(productsPath, call);
  const cart = userId === null ? null : optional(deps.cart.getJson(`/users/${userId}/cart`, asUser, (b) => countItems("cart", b)));
  const favorites = userId === null ? null : optional(deps.favorites.getJson(`/users/${userId}/favorites`, asUser, (b) => countItems("favorites", b)));

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

async function withInventory(deps: ListingDeps, caller: Caller, catalogue: CatalogueItem[], degraded: Part[]): Promise<ListedProduct[]> {
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
  return catalogue.map((p) => ({ product_id: p.product_id, product_name: p.product_name, price_cents: p.price_cents, inventory: stock?.get(p.product_id) ?? null }));
}
