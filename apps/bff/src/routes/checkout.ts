// POST /checkout: turns the caller's cart into an order, forwarded to the orders service with the caller's
// token and Idempotency-Key. The key is required here too, so a request without one is refused before
// anything is called; a retry with the same key (after a 504, say) gets the first attempt's outcome.
import { createRoute, z } from "@hono/zod-openapi";
import { requireIdentity, userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, header, jsonBody, jsonResponse, needsToken, retryAfter } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { OrderItem, orderLocation, requireUser, ShippingAddress } from "./orders.ts";

/** 1-255 visible ASCII characters (no spaces): room for a UUID or any client's own scheme. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const KEY_RULE = "must be 1-255 visible ASCII characters";

const checkoutHeaders = z.object({
  "idempotency-key": z
    .string({ error: `the Idempotency-Key header is required and ${KEY_RULE}` })
    .regex(IDEMPOTENCY_KEY, KEY_RULE)
    .openapi({
      description: "Names this checkout: send the same key (and body) again to retry it safely, e.g. after a 504; a new key for a new checkout. 1-255 visible ASCII characters, no spaces.",
      example: "5b0c6c1e-6f1a-4b8e-9d7e-0f3c2a1b9e44",
    }),
});

export const checkoutBody = z.strictObject({
  shipping_address: ShippingAddress,
  delivery_date: z.iso.date().optional().openapi({ description: "A calendar date, YYYY-MM-DD, from today (UTC) to a year ahead (orders checks the range); none when left out.", example: "2026-12-01" }),
  card_token: z.string().min(1).max(64).openapi({ description: "The payment provider's token for the card (never the card number).", example: "tok_visa" }),
});

export const OrderConfirmed = z
  .strictObject({
    order_id: z.number().int().positive(),
    status: z.literal("confirmed"),
    total_cents: z.number().int().min(0),
    items: z.array(OrderItem),
  })
  .openapi("OrderConfirmed");
export const OrderPending = z.strictObject({ order_id: z.number().int().positive(), status: z.literal("pending") }).openapi("OrderPending");

const replayed = header("`true` when this is the stored answer to an earlier request with the same Idempotency-Key.");
const REPLAYED = { "Idempotent-Replayed": replayed };
const FORBIDDEN = "FORBIDDEN: a service token has no cart to check out.";

const checkout = createRoute({
  method: "post",
  path: "/",
  tags: ["orders"],
  summary: "Check out the cart",
  description:
    "Places an order for everything in the caller's cart: reserves the stock, takes the payment and empties the cart. " +
    "201 when that finished in time; 202 when it is still settling (follow `Location`, GET /orders/{id}). " +
    "Safe to retry with the same Idempotency-Key: the first outcome is answered again, with `Idempotent-Replayed: true`.",
  security: needsToken,
  request: { headers: checkoutHeaders, body: jsonBody(checkoutBody) },
  responses: {
    201: { ...jsonResponse("The order, confirmed: paid and reserved.", OrderConfirmed), headers: REPLAYED },
    202: {
      ...jsonResponse("The order is placed and still settling.", OrderPending),
      headers: { Location: header("The order: `/orders/{id}`."), ...REPLAYED },
    },
    ...errorResponses([400, 401, 402, 403, 409, 413, 415, 422], {
      400:
        "BAD_REQUEST: the body does not match, or the Idempotency-Key header is missing or malformed (nothing was called); " +
        "or CART_EMPTY: the cart has no lines, nothing was written.",
      402: { description: "PAYMENT_DECLINED: the card was declined; `error.order_id` is the order, cancelled and its stock released.", headers: REPLAYED },
      403: FORBIDDEN,
      409: {
        description:
          "OUT_OF_STOCK: some products cannot be reserved; `error.products` lists them (requested and available) and `error.order_id` " +
          "is the order, cancelled. ORDER_CANCELLED: the order (`error.order_id`) was cancelled for another reason while placed. " +
          "CONFLICT: products in the cart are no longer sold (`error.product_ids`); nothing was written. " +
          "IDEMPOTENCY_IN_PROGRESS: a request with this key is still running; ask again after Retry-After.",
        headers: { "Retry-After": retryAfter, ...REPLAYED },
      },
      422: "IDEMPOTENCY_KEY_REUSED: this key was used with a different body; a new checkout needs a new key.",
      503: {
        description:
          "UPSTREAM_UNAVAILABLE: orders, or a service it needs (cart, products, inventory), is unavailable; nothing was written. Retry after Retry-After. " +
          "Or AUTH_UNAVAILABLE: tokens cannot be checked right now.",
        headers: { "Retry-After": retryAfter },
      },
      504: "UPSTREAM_TIMEOUT: orders did not answer within the checkout deadline. The order may have been placed: send the same request with the same Idempotency-Key to learn its outcome.",
    }),
  },
});

export const checkoutRoutes = (orders: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireIdentity(), requireUser());
  return router.openapi(checkout, (c) =>
    passedOn(
      forward(c, orders, deadlineMs, "POST", `/users/${userOf(c)}/orders`, c.req.valid("json"), {
        headers: { "idempotency-key": c.req.valid("header")["idempotency-key"] },
        passOn: ["idempotent-replayed"],
        location: orderLocation,
        passOnUnavailable: true,
      }),
    ),
  );
};
