// Product names and prices for pages that only have ids (cart, favorites, checkout, orders): the BFF has no
// products-by-id route, so they come from its listing, read anonymously (the catalogue is the same for
// everyone) a page of 100 at a time until every id is found. When the listing fails, the pages still render
// with "Product #id" and no prices.
import type { Context } from "hono";
import { BffUnavailableError } from "./bff.ts";
import { bffGet } from "./calls.ts";
import type { WebEnv } from "./context.ts";
import { Listing, type ListedProduct } from "./shapes.ts";

const PAGE = 100;
/** Enough for a catalogue of 1,000 products; past that a products-by-id route at the BFF is the answer. */
const MAX_PAGES = 10;

export type Catalogue = { products: Map<number, ListedProduct>; complete: boolean; degraded: string[] };

/** One listing page as a zod-checked Listing; throws BffUnavailableError when the BFF cannot give one. */
export async function listingPage(c: Context<WebEnv>, query: { limit: number; after?: number }, anonymous = false): Promise<Listing> {
  const qs = `limit=${query.limit}${query.after !== undefined ? `&after=${query.after}` : ""}`;
  const reply = await bffGet(c, `/products/all?${qs}`, { anonymous });
  if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
  const parsed = Listing.safeParse(reply.body);
  if (!parsed.success) throw new BffUnavailableError("invalid_response", 200, null, { cause: parsed.error });
  return parsed.data;
}

export async function lookupProducts(c: Context<WebEnv>, ids: readonly number[]): Promise<Catalogue> {
  const wanted = new Set(ids);
  const products = new Map<number, ListedProduct>();
  const degraded = new Set<string>();
  if (wanted.size === 0) return { products, complete: true, degraded: [] };
  let after: number | undefined;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const listing = await listingPage(c, { limit: PAGE, after }, true);
      for (const d of listing.degraded) degraded.add(d);
      for (const p of listing.products) if (wanted.has(p.product_id)) products.set(p.product_id, p);
      if (products.size === wanted.size || !listing.next_after) break;
      after = listing.next_after;
    }
  } catch (err) {
    if (!(err instanceof BffUnavailableError)) throw err;
    degraded.add("products");
  }
  return { products, complete: products.size === wanted.size, degraded: [...degraded] };
}

/** "Espresso beans 1 kg", or "Product #7" when the catalogue does not have it. */
export const productName = (catalogue: Catalogue, id: number) => catalogue.products.get(id)?.product_name ?? `Product #${id}`;
