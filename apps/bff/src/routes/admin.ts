// /admin: what admins change, stock and products. Role admin here, and again at inventory and products.
import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { MAX_INT4, positiveInt } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { productParams } from "./params.ts";

const cents = z.number().int().min(0).max(MAX_INT4);
const stockBody = z.strictObject({
  inventory: z.number().int().min(0).max(MAX_INT4).openapi({ description: "The on-hand count; what is available is that less what is reserved." }),
});
// Lengths are checked by products (in characters, as its table counts them).
const productPatch = z
  .strictObject({
    price_cents: cents.optional(),
    product_name: z.string().min(1).optional().openapi({ description: "At most 200 characters." }),
    description: z.string().optional().openapi({ description: "At most 2000 characters." }),
  })
  .refine((body) => Object.keys(body).length > 0, "give at least one of price_cents, product_name, description")
  .openapi({ description: "At least one of the fields; those left out keep their value." });

const count = z.number().int().min(0);
export const Stock = z
  .strictObject({
    product_id: positiveInt,
    inventory: count.openapi({ description: "Available to order: on_hand less reserved." }),
    on_hand: count.openapi({ description: "In the warehouse, reserved units included." }),
    reserved: count.openapi({ description: "Held for orders being placed or not yet shipped." }),
  })
  .openapi("Stock");
export const Product = z
  .strictObject({
    product_id: positiveInt,
    product_name: z.string(),
    description: z.string(),
    sku: z.string(),
    price_cents: cents,
    updated_at: z.iso.datetime(),
  })
  .openapi("Product");

const tags = ["admin"];
const FORBIDDEN = "FORBIDDEN: the token is not an admin's.";

const setStock = createRoute({
  method: "put",
  path: "/products/{product_id}/inventory",
  tags,
  summary: "Set a product's stock",
  description: "Sets the on-hand count. When what is available goes from 0 to more, the product's watchers are told it is back in stock.",
  security: needsToken,
  request: { params: productParams, body: jsonBody(stockBody) },
  responses: {
    200: jsonResponse("The stock now.", Stock),
    ...errorResponses([400, 401, 403, 409, 413, 415], { 403: FORBIDDEN, 409: "CONFLICT: the count is below what is reserved for orders; nothing changed." }),
  },
});

const getStock = createRoute({
  method: "get",
  path: "/products/{product_id}/inventory",
  tags,
  summary: "A product's stock",
  description: "Available, on hand and reserved, as inventory counts them now.",
  security: needsToken,
  request: { params: productParams },
  responses: {
    200: jsonResponse("The stock now.", Stock),
    ...errorResponses([400, 401, 403, 404], { 403: FORBIDDEN, 404: "NOT_FOUND: inventory has no stock row for the product." }),
  },
});

const editProduct = createRoute({
  method: "patch",
  path: "/products/{product_id}",
  tags,
  summary: "Edit a product",
  description:
    "A lower price tells the product's watchers. Every BFF replica drops its copy of the catalogue when products announces the change (product.changed), within about 100 ms; the next listing asks products again.",
  security: needsToken,
  request: { params: productParams, body: jsonBody(productPatch) },
  responses: {
    200: jsonResponse("The product after the change.", Product),
    ...errorResponses([400, 401, 403, 404, 413, 415], { 403: FORBIDDEN, 404: "NOT_FOUND: no such product." }),
  },
});

export const adminRoutes = (upstreams: { products: UpstreamClient; inventory: UpstreamClient }, deadlineMs: number, onProductChanged?: () => void) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  // The role first: a caller who may not change anything learns nothing from the validation of what they sent.
  router.use(requireRole("admin"));
  return router
    .openapi(getStock, (c) => passedOn(forward(c, upstreams.inventory, deadlineMs, "GET", `/products/${c.req.valid("param").product_id}/inventory`)))
    .openapi(setStock, (c) =>
      passedOn(forward(c, upstreams.inventory, deadlineMs, "PUT", `/products/${c.req.valid("param").product_id}/inventory`, c.req.valid("json"))),
    )
    .openapi(editProduct, (c) =>
      passedOn(
        forward(c, upstreams.products, deadlineMs, "PATCH", `/products/${c.req.valid("param").product_id}`, c.req.valid("json")).then((res) => {
          if (res.status === 200) onProductChanged?.();
          return res;
        }),
      ),
    );
};
