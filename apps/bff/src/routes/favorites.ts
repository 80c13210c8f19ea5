// /favorites: the calling user's favorites, forwarded to the favorites service.
import { createRoute, z } from "@hono/zod-openapi";
import { positiveInt } from "@storefront/shared/validate";
import { requireIdentity, userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { productParams } from "./params.ts";

const addBody = z.strictObject({ product_id: positiveInt });

export const Favorite = z.strictObject({ product_id: positiveInt }).openapi("Favorite");

const tags = ["favorites"];
const FORBIDDEN = "FORBIDDEN: a service token has no favorites of its own.";

const list = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The caller's favorites",
  security: needsToken,
  responses: { 200: jsonResponse("The favorite products, by product_id.", z.array(Favorite)), ...errorResponses([401, 403], { 403: FORBIDDEN }) },
});

const add = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Add a favorite",
  description: "Idempotent: 201 when this request added it, 200 when it was already a favorite.",
  security: needsToken,
  request: { body: jsonBody(addBody) },
  responses: {
    200: jsonResponse("It was already a favorite; nothing changed.", Favorite),
    201: jsonResponse("Added.", Favorite),
    ...errorResponses([400, 401, 403, 413, 415], { 403: FORBIDDEN }),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/{product_id}",
  tags,
  summary: "Remove a favorite",
  description: "Idempotent: removing one that is not there is a 204 too.",
  security: needsToken,
  request: { params: productParams },
  responses: { 204: { description: "Removed (or was not there)." }, ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

export const favoritesRoutes = (favorites: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireIdentity());
  return router
    .openapi(list, (c) => passedOn(forward(c, favorites, deadlineMs, "GET", `/users/${userOf(c)}/favorites`)))
    .openapi(add, (c) => passedOn(forward(c, favorites, deadlineMs, "POST", `/users/${userOf(c)}/favorites`, c.req.valid("json"))))
    .openapi(remove, (c) =>
      passedOn(forward(c, favorites, deadlineMs, "DELETE", `/users/${userOf(c)}/favorites/${c.req.valid("param").product_id}`)),
    );
};
