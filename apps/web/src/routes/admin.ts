// The admin's page (/admin) and its forms: set a product's on-hand stock (BFF PUT /admin/products/:id/inventory)
// and price (PATCH /admin/products/:id), assign a courier to a delivery (POST /admin/deliveries/:id/courier).
// Each form comes back to the page it was sent from with a notice saying how it went, in words (a 409 too).
// Query: `after` pages the products, `status` (default activated; "all" for every one) and `deliveries_after`
// the deliveries.
import { Hono, type Context } from "hono";
import { Couriers, DELIVERY_STATUSES, DeliveryPage, Stock } from "../admin-shapes.ts";
import { BffUnavailableError, errorOf, type BffReply } from "../bff.ts";
import { bffGet, bffSend, optionalPart } from "../calls.ts";
import { listingPage } from "../catalogue.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { formOf, positiveId, safeNext, withNotice } from "../forms.ts";
import type { NoticeCode } from "../notices.ts";
import { refuseForbidden, requireRole } from "../roles.ts";
import { bodyAs } from "../shapes.ts";
import { AdminPage } from "../views/admin.tsx";

const WHAT = "the admin's page";
/** Products per page: each row asks the BFF for its stock, so a page stays small. */
export const ADMIN_PRODUCTS_PAGE = 20;
export const ADMIN_DELIVERIES_PAGE = 20;
const MAX_INT4 = 2_147_483_647;
/** Pounds and pence as typed: "24", "24.9", "24.90"; at most 21,474,836.47 (the column's int4). */
const PRICE = /^[0-9]{1,8}(\.[0-9]{1,2})?$/;

type Query = { after?: number; status: string | null; deliveriesAfter?: number };

function queryOf(c: Context<WebEnv>): Query {
  const after = optionalId(c.req.query("after"), "this page of products");
  const deliveriesAfter = optionalId(c.req.query("deliveries_after"), "this page of deliveries");
  const raw = c.req.query("status");
  if (raw !== undefined && raw !== "all" && !(DELIVERY_STATUSES as readonly string[]).includes(raw)) throw new PageNotFoundError("this list of deliveries");
  const status = raw === undefined ? "activated" : raw === "all" ? null : raw;
  return { after, status, deliveriesAfter };
}

function optionalId(raw: string | undefined, what: string): number | undefined {
  const id = positiveId(raw);
  if (raw !== undefined && id === undefined) throw new PageNotFoundError(what);
  return id;
}

/** /admin with the query, leaving out what is default. */
function adminHref(q: Query): string {
  const params = new URLSearchParams();
  if (q.after !== undefined) params.set("after", String(q.after));
  if (q.status !== "activated") params.set("status", q.status ?? "all");
  if (q.deliveriesAfter !== undefined) params.set("deliveries_after", String(q.deliveriesAfter));
  return params.size ? `/admin?${params}` : "/admin";
}

/** The on-hand and reserved counts of one product, or null when the BFF cannot say (it is optional). */
async function stockOf(c: Context<WebEnv>, productId: number): Promise<Stock | null> {
  const reply = await optionalPart(() => bffGet(c, `/admin/products/${productId}/inventory`));
  const parsed = reply?.status === 200 ? Stock.safeParse(reply.body) : null;
  return parsed?.success ? parsed.data : null;
}

async function productsOf(c: Context<WebEnv>, after: number | undefined) {
  const listing = await listingPage(c, { limit: ADMIN_PRODUCTS_PAGE, after });
  const stocks = await Promise.all(listing.products.map(async (p) => [p.product_id, await stockOf(c, p.product_id)] as const));
  return { items: listing.products, nextAfter: listing.next_after ?? null, stock: new Map(stocks) };
}

async function deliveriesOf(c: Context<WebEnv>, status: string | null, after: number | undefined) {
  const params = new URLSearchParams({ limit: String(ADMIN_DELIVERIES_PAGE) });
  if (status) params.set("status", status);
  if (after !== undefined) params.set("after", String(after));
  const reply = refuseForbidden(await bffGet(c, `/admin/deliveries?${params}`), WHAT);
  if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
  const page = bodyAs(reply, DeliveryPage, "deliveries");
  return { items: page.deliveries, nextAfter: page.next_after };
}

async function couriersOf(c: Context<WebEnv>) {
  const reply = refuseForbidden(await bffGet(c, "/admin/couriers"), WHAT);
  if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
  return bodyAs(reply, Couriers, "couriers");
}

/** The notice for a form's answer: `byStatus` for the expected ones; 403 is the 403 page; others the 503 page. */
function noticeFor(reply: BffReply, byStatus: Partial<Record<number, NoticeCode>>): NoticeCode {
  refuseForbidden(reply, WHAT);
  const notice = byStatus[reply.status];
  if (!notice) throw new BffUnavailableError("client_error", reply.status, reply.body);
  return notice;
}

/** Back to the page the form was sent from (an /admin address only), with the notice. */
const back = (c: Context<WebEnv>, next: string | undefined, notice: NoticeCode) => {
  const to = safeNext(next, "/admin");
  return c.redirect(withNotice(to === "/admin" || to.startsWith("/admin?") ? to : "/admin", notice), 303);
};

function idParam(c: Context<WebEnv>, what: string): number {
  const id = positiveId(c.req.param("id"));
  if (id === undefined) throw new PageNotFoundError(what);
  return id;
}

/** A 409 INVALID_TRANSITION on assigning: why, in words, from the delivery's status now (`error.status`). */
function assignConflict(reply: BffReply): NoticeCode {
  const status = errorOf(reply.body)?.status;
  if (status === "created") return "delivery-not-paid";
  if (status === "done") return "delivery-already-done";
  if (status === "canceled") return "delivery-cancelled";
  return "delivery-has-courier";
}

export const adminRoutes = () =>
  new Hono<WebEnv>()
    .get("/admin", async (c) => {
      requireRole(c, "admin", WHAT);
      const q = queryOf(c);
      const chrome = loadChrome(c);
      const [products, deliveries, couriers] = await Promise.all([
        optionalPart(() => productsOf(c, q.after)),
        optionalPart(() => deliveriesOf(c, q.status, q.deliveriesAfter)),
        optionalPart(() => couriersOf(c)),
      ]);
      const statusLinks = [...DELIVERY_STATUSES, null].map((status) => ({ status, href: adminHref({ after: q.after, status }) }));
      return c.html(
        AdminPage({
          chrome: await chrome,
          here: adminHref(q),
          products,
          nextProducts: products?.nextAfter ? adminHref({ ...q, after: products.nextAfter }) : null,
          status: q.status,
          deliveries,
          nextDeliveries: deliveries?.nextAfter ? adminHref({ ...q, deliveriesAfter: deliveries.nextAfter }) : null,
          couriers,
          statusLinks,
        }),
      );
    })
    .post("/admin/products/:id/stock", async (c) => {
      requireRole(c, "admin", WHAT);
      const id = idParam(c, "this product");
      const form = await formOf(c);
      const raw = form.on_hand?.trim() ?? "";
      const onHand = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
      if (!(onHand <= MAX_INT4)) return back(c, form.next, "stock-invalid");
      const reply = await bffSend(c, "PUT", `/admin/products/${id}/inventory`, { json: { inventory: onHand } });
      return back(c, form.next, noticeFor(reply, { 200: "stock-updated", 400: "stock-invalid", 404: "product-missing", 409: "stock-below-reserved" }));
    })
    .post("/admin/products/:id/price", async (c) => {
      requireRole(c, "admin", WHAT);
      const id = idParam(c, "this product");
      const form = await formOf(c);
      const raw = form.price?.trim().replace(/^£/, "") ?? "";
      if (!PRICE.test(raw)) return back(c, form.next, "price-invalid");
      // Whole pence from the text, not from a float: "0.29" * 100 is 28.999... in binary.
      const [whole = "0", fraction = ""] = raw.split(".");
      const cents = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
      if (cents > MAX_INT4) return back(c, form.next, "price-invalid");
      const reply = await bffSend(c, "PATCH", `/admin/products/${id}`, { json: { price_cents: cents } });
      return back(c, form.next, noticeFor(reply, { 200: "price-updated", 400: "price-invalid", 404: "product-missing" }));
    })
    .post("/admin/deliveries/:id/courier", async (c) => {
      requireRole(c, "admin", WHAT);
      const id = idParam(c, "this delivery");
      const form = await formOf(c);
      const courierId = positiveId(form.courier_id);
      if (courierId === undefined) return back(c, form.next, "courier-invalid");
      const reply = await bffSend(c, "POST", `/admin/deliveries/${id}/courier`, { json: { courier_id: courierId } });
      if (reply.status === 409) return back(c, form.next, assignConflict(reply));
      return back(c, form.next, noticeFor(reply, { 200: "courier-assigned", 400: "courier-invalid", 404: "courier-missing" }));
    });
