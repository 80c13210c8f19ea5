// Checkout: the form (GET /checkout) and placing the order (POST /checkout, forwarded to the BFF with the form's
// Idempotency-Key). Each outcome in words: confirmed (201) or still settling (202) go to the order's page; a
// declined card, missing stock or an empty cart come back to the form with a new key (a new attempt); when the
// answer is lost or late the form comes back with the same key, so pressing again learns the first outcome
// instead of placing a second order.
import type { Context } from "hono";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BffUnavailableError, errorOf, type BffReply } from "../bff.ts";
import { bffGet, bffSend, requireSession } from "../calls.ts";
import { lookupProducts, productName, type Catalogue } from "../catalogue.ts";
import { loadChrome, plainChrome } from "../chrome.ts";
import { checkoutBody, checkoutForm, fieldErrors, IDEMPOTENCY_KEY, type CheckoutErrors, type CheckoutValues } from "../checkout-form.ts";
import type { WebEnv } from "../context.ts";
import { formOf, withNotice } from "../forms.ts";
import { isoDay } from "../format.ts";
import { bodyAs, CartLines, OutOfStock, PlacedOrder, type CartLine } from "../shapes.ts";
import { CheckoutPage } from "../views/checkout.tsx";

const FIELDS = ["name", "line1", "city", "postal_code", "country", "delivery_date", "card_token"] as const;
/** A delivery date from today (UTC) to this many days ahead: the orders service's range. */
const MAX_DELIVERY_DAYS = 365;

type Attempt = {
  key: string;
  values: CheckoutValues;
  errors?: CheckoutErrors;
  error?: string;
  problems?: string[];
  /** false when the BFF just failed: the form is drawn without asking it for the cart again. */
  loadCart?: boolean;
  extraIds?: number[];
};

async function render(c: Context<WebEnv>, status: ContentfulStatusCode, attempt: Attempt, problemsOf?: (catalogue: Catalogue) => string[]) {
  const now = c.get("services").now();
  let lines: CartLine[] | null = null;
  let catalogue: Catalogue = { products: new Map(), complete: true, degraded: [] };
  let chrome = plainChrome(c);
  if (attempt.loadCart !== false) {
    const chromeLoad = loadChrome(c);
    const reply = await bffGet(c, "/cart");
    if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
    lines = bodyAs(reply, CartLines, "cart");
    [catalogue, chrome] = await Promise.all([lookupProducts(c, [...lines.map((l) => l.product_id), ...(attempt.extraIds ?? [])]), chromeLoad]);
    if (lines) chrome.cartCount = lines.length;
  }
  const problems = problemsOf ? problemsOf(catalogue) : attempt.problems;
  return c.html(
    CheckoutPage({
      chrome,
      lines,
      catalogue,
      idempotencyKey: attempt.key,
      values: attempt.values,
      errors: attempt.errors,
      error: attempt.error,
      problems,
      minDate: isoDay(now),
      maxDate: isoDay(now, MAX_DELIVERY_DAYS),
    }),
    status,
  );
}

const newKey = () => crypto.randomUUID();

/** The BFF failed to answer: was the order perhaps placed (ask again with the same key) or certainly not? */
function lostAnswer(err: BffUnavailableError): string {
  const refusedBeforeStarting = err.status === 503 && errorOf(err.body)?.code === "UPSTREAM_UNAVAILABLE";
  return refusedBeforeStarting
    ? "We cannot take orders right now, and nothing was charged. Please press “Place order” again in a moment."
    : "We could not confirm your order in time. It may still go through: press “Place order” again to find out. You will not be charged twice.";
}

/** An answer of the BFF that is not a placed order, in words, and whether the next press is a new attempt. */
async function refused(c: Context<WebEnv>, reply: BffReply, key: string, values: CheckoutValues) {
  const error = errorOf(reply.body);
  const code = error?.code;
  if (reply.status === 402) {
    return render(c, 402, { key: newKey(), values, error: "Your card was declined. Nothing was charged. Choose another card and try again." });
  }
  if (reply.status === 409 && code === "OUT_OF_STOCK") {
    const products = OutOfStock.safeParse(error?.products);
    const missing = products.success ? products.data : [];
    return render(
      c,
      409,
      { key: newKey(), values, error: "Some products are not in stock in the quantity you asked for. Change your cart and try again.", extraIds: missing.map((p) => p.product_id) },
      (catalogue) =>
        missing.map((p) => `${productName(catalogue, p.product_id)}: you asked for ${p.requested}, ${p.available === 0 ? "none are" : `${p.available} ${p.available === 1 ? "is" : "are"}`} available`),
    );
  }
  if (reply.status === 409 && code === "IDEMPOTENCY_IN_PROGRESS") {
    return render(c, 409, { key, values, error: "Your order is still being placed. Wait a moment, then press “Place order” again to see how it went." });
  }
  if (reply.status === 409 && code === "CONFLICT") {
    const ids = Array.isArray(error?.product_ids) ? (error.product_ids as unknown[]).filter((id): id is number => typeof id === "number") : [];
    return render(c, 409, { key: newKey(), values, error: "Some products in your cart are no longer sold. Remove them from your cart and try again.", extraIds: ids }, (catalogue) =>
      ids.map((id) => productName(catalogue, id)),
    );
  }
  if (reply.status === 409) {
    return render(c, 409, { key: newKey(), values, error: "Your order could not be completed and was cancelled. Nothing was charged. Please try again." });
  }
  if (reply.status === 400 && code === "CART_EMPTY") return render(c, 400, { key: newKey(), values, error: "Your cart is empty." });
  if (reply.status === 400) return render(c, 400, { key: newKey(), values, error: `The order could not be placed: ${error?.message || "please check the form"}.` });
  if (reply.status === 422) {
    return render(c, 422, { key: newKey(), values, error: "This form was already used for a different order. Check the details and place the order again." });
  }
  throw new BffUnavailableError("client_error", reply.status, reply.body);
}

export const checkoutRoutes = () =>
  new Hono<WebEnv>()
    .get("/checkout", (c) => {
      requireSession(c);
      return render(c, 200, { key: newKey(), values: { country: "GB", card_token: "tok_visa" } });
    })
    .post("/checkout", async (c) => {
      requireSession(c);
      const form = await formOf(c);
      const values: CheckoutValues = {};
      for (const field of FIELDS) if (form[field] !== undefined) values[field] = form[field];
      const key = form.idempotency_key ?? "";
      if (!IDEMPOTENCY_KEY.test(key)) {
        return render(c, 400, { key: newKey(), values, error: "This form has expired. Check the details and press “Place order” again." });
      }
      const parsed = checkoutForm.safeParse(form);
      if (!parsed.success) return render(c, 400, { key, values, errors: fieldErrors(parsed.error) });
      const now = c.get("services").now();
      const date = parsed.data.delivery_date;
      if (date && (date < isoDay(now) || date > isoDay(now, MAX_DELIVERY_DAYS))) {
        return render(c, 400, { key, values, errors: { delivery_date: "Choose a delivery date from today to a year ahead, or leave it empty" } });
      }
      let reply: BffReply;
      try {
        reply = await bffSend(c, "POST", "/checkout", {
          json: checkoutBody(parsed.data),
          headers: { "idempotency-key": key },
          deadlineMs: c.get("services").bff.deadlines.checkoutMs,
        });
      } catch (err) {
        if (!(err instanceof BffUnavailableError)) throw err;
        c.get("services").logger.warn("checkout: no answer from the BFF", { request_id: c.get("requestId"), outcome: err.outcome, status: err.status });
        c.header("retry-after", "2");
        return render(c, 503, { key, values, error: lostAnswer(err), loadCart: false });
      }
      if (reply.status === 201 || reply.status === 202) {
        const order = bodyAs(reply, PlacedOrder, "checkout");
        return c.redirect(withNotice(`/orders/${order.order_id}`, reply.status === 201 ? "order-confirmed" : "order-processing"), 303);
      }
      return refused(c, reply, key, values);
    });
