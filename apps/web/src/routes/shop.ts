// The product grid (/) and a product's page (/products/:id), from the BFF's listing. A logged-in visitor's
// favorites are read alongside, for the toggles; the header's counts too. Parts the BFF says are degraded are
// named on the page, which still renders; without the listing itself there is no shop (503 page).
import { Hono, type Context } from "hono";
import { bffGet } from "../calls.ts";
import { listingPage } from "../catalogue.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { positiveId } from "../forms.ts";
import { Favorites } from "../shapes.ts";
import { HomePage, ProductPage, type Shopper } from "../views/products.tsx";

/** Products per page of the grid: keeps the page well under 60 KB. */
export const GRID_PAGE = 24;

/** The visitor's favorite product ids, or null when favorites cannot say right now (never throws). */
async function favoriteIds(c: Context<WebEnv>): Promise<ReadonlySet<number> | null> {
  try {
    const reply = await bffGet(c, "/favorites");
    const parsed = reply.status === 200 ? Favorites.safeParse(reply.body) : null;
    return parsed?.success ? new Set(parsed.data.map((f) => f.product_id)) : null;
  } catch {
    return null;
  }
}

async function shopperOf(c: Context<WebEnv>, favorites: Promise<ReadonlySet<number> | null> | null): Promise<Shopper> {
  return favorites ? { csrfToken: c.get("csrfToken"), favorites: await favorites } : null;
}

export const shopRoutes = () =>
  new Hono<WebEnv>()
    .get("/", async (c) => {
      const afterRaw = c.req.query("after");
      const after = positiveId(afterRaw);
      if (afterRaw !== undefined && after === undefined) throw new PageNotFoundError("this page of products");
      const loggedIn = c.get("session") !== null;
      const listing = listingPage(c, { limit: GRID_PAGE, after });
      const favorites = loggedIn ? favoriteIds(c) : null;
      const chrome = loadChrome(c, { cartCount: listing.then((l) => l.cart_items ?? null) });
      const [page, shopper, header] = await Promise.all([listing, shopperOf(c, favorites), chrome]);
      const degraded = page.degraded.filter((part) => part !== "favorites" || shopper?.favorites === null);
      if (shopper && shopper.favorites === null && !degraded.includes("favorites")) degraded.push("favorites");
      const here = after === undefined ? "/" : `/?after=${after}`;
      return c.html(HomePage({ chrome: header, here, products: page.products, degraded, shopper, nextAfter: page.next_after ?? null, paged: after !== undefined }));
    })
    .get("/products/:id", async (c) => {
      const id = positiveId(c.req.param("id"));
      if (id === undefined) throw new PageNotFoundError("this product");
      // The listing is keyset-paged by id: the page of one after id - 1 starts with this product if it exists.
      const listing = listingPage(c, { limit: 1, after: id > 1 ? id - 1 : undefined });
      const favorites = c.get("session") ? favoriteIds(c) : null;
      const chrome = loadChrome(c);
      const [page, shopper, header] = await Promise.all([listing, shopperOf(c, favorites), chrome]);
      const product = page.products.find((p) => p.product_id === id);
      if (!product) throw new PageNotFoundError("this product");
      const degraded: string[] = page.degraded.filter((part) => part === "inventory" || part === "products");
      if (shopper && shopper.favorites === null) degraded.push("favorites");
      return c.html(ProductPage({ chrome: header, here: `/products/${id}`, product, degraded, shopper }));
    });
