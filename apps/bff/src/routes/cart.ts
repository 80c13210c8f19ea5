// /cart: the calling user's cart, forwarded to the cart service.
import { createRoute, z } from "@hono/zod-openapi";
import { positiveInt } from "@storefront/shared/validate";
import { requireIdentity, userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { productParams } from "./params.ts";

const MAX_QUANTITY = 999;
const quantity = z.number().int().min(1).max(MAX_QUANTITY);
const addBody = z.strictObject({ product_id: positiveInt, quantity: quantity.optional().openapi({ description: "Added to the line; 1 when left out." }) });
const setBody = z.strictObject({ quantity });

export const CartLine = z.strictObject({ product_id: positiveInt, quantity }).openapi("CartLine");

const tags = ["cart"];
const FORBIDDEN = "FORBIDDEN: a service token has no cart of its own.";

const list = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The caller's cart",
  security: needsToken,
  responses: { 200: jsonResponse("The cart's lines, by product_id.", z.array(CartLine)), ...errorResponses([401, 403], { 403: FORBIDDEN }) },
});

const add = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Add to a line of the cart",
  description: "Adds `quantity` (default 1) to the product's line, creating it.",
  security: needsToken,
  request: { body: jsonBody(addBody) },
  responses: {
    200: jsonResponse("The line after the addition.", CartLine),
    ...errorResponses([400, 401, 403, 409, 413, 415], { 403: FORBIDDEN, 409: `CONFLICT: the line would pass ${MAX_QUANTITY}; nothing changed.` }),
  },
});

const setQuantity = createRoute({
  method: "put",
  path: "/{product_id}",
  tags,
  summary: "Set a line's quantity",
  description: "Sets the quantity of the product's line, creating it.",
  security: needsToken,
  request: { params: productParams, body: jsonBody(setBody) },
  responses: { 200: jsonResponse("The line.", CartLine), ...errorResponses([400, 401, 403, 413, 415], { 403: FORBIDDEN }) },
});

const remove = createRoute({
  method: "delete",
  path: "/{product_id}",
  tags,
  summary: "Remove a line",
  description: "Idempotent: removing a line that is not there is a 204 too.",
  security: needsToken,
  request: { params: productParams },
  responses: { 204: { description: "Removed (or was not there)." }, ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

export const cartRoutes = (cart: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireIdentity());
  return router
    .openapi(list, (c) => passedOn(forward(c, cart, deadlineMs, "GET", `/users/${userOf(c)}/cart`)))
    .openapi(add, (c) => passedOn(forward(c, cart, deadlineMs, "POST", `/users/${userOf(c)}/cart`, c.req.valid("json"))))
    .openapi(setQuantity, (c) =>
      passedOn(forward(c, cart, deadlineMs, "PUT", `/users/${userOf(c)}/cart/${c.req.valid("param").product_id}`, c.req.valid("json"))),
    )
    .openapi(remove, (c) => passedOn(forward(c, cart, deadlineMs, "DELETE", `/users/${userOf(c)}/cart/${c.req.valid("param").product_id}`)));
};
