// The user's orders (/orders, newest first, a page at a time), one order (/orders/:id) and cancelling it.
// Another user's order is the BFF's 404, shown as a 404 page.
import { Hono, type Context } from "hono";
import { BffUnavailableError } from "../bff.ts";
import { bffGet, bffSend, requireSession } from "../calls.ts";
import { lookupProducts } from "../catalogue.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { positiveId, withNotice } from "../forms.ts";
import { bodyAs, Order, OrderPage as OrderPageShape } from "../shapes.ts";
import { OrderPage, OrdersPage } from "../views/orders.tsx";

const PAGE = 20;

function orderIdOf(c: Context<WebEnv>): number {
  const id = positiveId(c.req.param("id"));
  if (id === undefined) throw new PageNotFoundError("this order");
  return id;
}

export const ordersRoutes = () =>
  new Hono<WebEnv>()
    .get("/orders", async (c) => {
      requireSession(c);
      const afterRaw = c.req.query("after");
      const after = positiveId(afterRaw);
      if (afterRaw !== undefined && after === undefined) throw new PageNotFoundError("this page of orders");
      const chrome = loadChrome(c);
      const reply = await bffGet(c, `/orders?limit=${PAGE}${after === undefined ? "" : `&after=${after}`}`);
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const page = bodyAs(reply, OrderPageShape, "orders");
      return c.html(OrdersPage({ chrome: await chrome, orders: page.orders, nextAfter: page.next_after, paged: after !== undefined }));
    })
    .get("/orders/:id", async (c) => {
      requireSession(c);
      const id = orderIdOf(c);
      const chrome = loadChrome(c);
      const reply = await bffGet(c, `/orders/${id}`);
      if (reply.status === 404) throw new PageNotFoundError("this order");
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const order = bodyAs(reply, Order, "order");
      const catalogue = await lookupProducts(c, order.items.map((i) => i.product_id));
      return c.html(OrderPage({ chrome: await chrome, order, catalogue }));
    })
    .post("/orders/:id/cancel", async (c) => {
      requireSession(c);
      const id = orderIdOf(c);
      const reply = await bffSend(c, "POST", `/orders/${id}/cancel`, { deadlineMs: c.get("services").bff.deadlines.checkoutMs });
      if (reply.status === 404) throw new PageNotFoundError("this order");
      const notice = reply.status === 200 ? "order-cancelled" : reply.status === 202 ? "order-cancelling" : reply.status === 409 ? "order-not-cancellable" : null;
      if (!notice) throw new BffUnavailableError("client_error", reply.status, reply.body);
      return c.redirect(withNotice(`/orders/${id}`, notice), 303);
    });
