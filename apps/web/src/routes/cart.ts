// The cart (/cart) and the favorites (/favorites): the pages, and the forms that change them (add, set a
// quantity, remove; add or remove a favorite), each a POST forwarded to the BFF and answered with a redirect.
import { Hono, type Context } from "hono";
import { bffGet, bffSend, requireSession } from "../calls.ts";
import { BffUnavailableError } from "../bff.ts";
import { lookupProducts } from "../catalogue.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { formOf, positiveId, safeNext, withNotice } from "../forms.ts";
import { bodyAs, CartLines, Favorites } from "../shapes.ts";
import { CartPage, FavoritesPage } from "../views/cart.tsx";

const MAX_QUANTITY = 999;

/** The product id in the path; a 404 page for anything else. */
function productIdOf(c: Context<WebEnv>): number {
  const id = positiveId(c.req.param("product_id"));
  if (id === undefined) throw new PageNotFoundError("this product");
  return id;
}

/** A quantity typed into a form: 0 (remove) to 999, else undefined. */
function quantityOf(value: string | undefined): number | undefined {
  const text = value?.trim() ?? "";
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_QUANTITY ? n : undefined;
}

/** A 5xx or a broken answer is the BFF failing (503 page); a 4xx is about this request: the notice `failed`. */
const outcome = (status: number, ok: string, failed: string) => (status >= 200 && status < 300 ? ok : failed);

export const cartRoutes = () =>
  new Hono<WebEnv>()
    .get("/cart", async (c) => {
      requireSession(c);
      const reply = await bffGet(c, "/cart");
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const lines = bodyAs(reply, CartLines, "cart");
      const [catalogue, chrome] = await Promise.all([lookupProducts(c, lines.map((l) => l.product_id)), loadChrome(c, { cartCount: lines.length })]);
      return c.html(CartPage({ chrome, lines, catalogue }));
    })
    .post("/cart/items", async (c) => {
      requireSession(c);
      const form = await formOf(c);
      const next = safeNext(form.next, "/cart");
      const productId = positiveId(form.product_id);
      const quantity = form.quantity === undefined ? 1 : quantityOf(form.quantity);
      if (productId === undefined || !quantity) return c.redirect(withNotice(next, "cart-not-added"), 303);
      const reply = await bffSend(c, "POST", "/cart", { json: { product_id: productId, quantity } });
      return c.redirect(withNotice(next, outcome(reply.status, "cart-added", "cart-not-added")), 303);
    })
    .post("/cart/:product_id", async (c) => {
      requireSession(c);
      const productId = productIdOf(c);
      const quantity = quantityOf((await formOf(c)).quantity);
      if (quantity === undefined) return c.redirect(withNotice("/cart", "cart-not-updated"), 303);
      const reply =
        quantity === 0
          ? await bffSend(c, "DELETE", `/cart/${productId}`)
          : await bffSend(c, "PUT", `/cart/${productId}`, { json: { quantity } });
      return c.redirect(withNotice("/cart", outcome(reply.status, quantity === 0 ? "cart-removed" : "cart-updated", "cart-not-updated")), 303);
    })
    .post("/cart/:product_id/remove", async (c) => {
      requireSession(c);
      const reply = await bffSend(c, "DELETE", `/cart/${productIdOf(c)}`);
      return c.redirect(withNotice("/cart", outcome(reply.status, "cart-removed", "cart-not-updated")), 303);
    })
    .get("/favorites", async (c) => {
      requireSession(c);
      const reply = await bffGet(c, "/favorites");
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const ids = bodyAs(reply, Favorites, "favorites").map((f) => f.product_id);
      const [catalogue, chrome] = await Promise.all([lookupProducts(c, ids), loadChrome(c)]);
      return c.html(FavoritesPage({ chrome, ids, catalogue }));
    })
    .post("/favorites", async (c) => {
      requireSession(c);
      const form = await formOf(c);
      const next = safeNext(form.next, "/favorites");
      const productId = positiveId(form.product_id);
      if (productId === undefined) return c.redirect(withNotice(next, "favorite-not-changed"), 303);
      const reply = await bffSend(c, "POST", "/favorites", { json: { product_id: productId } });
      return c.redirect(withNotice(next, outcome(reply.status, "favorite-added", "favorite-not-changed")), 303);
    })
    .post("/favorites/:product_id/remove", async (c) => {
      requireSession(c);
      const productId = productIdOf(c);
      const next = safeNext((await formOf(c)).next, "/favorites");
      const reply = await bffSend(c, "DELETE", `/favorites/${productId}`);
      return c.redirect(withNotice(next, outcome(reply.status, "favorite-removed", "favorite-not-changed")), 303);
    });
