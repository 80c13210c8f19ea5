// /me: the calling user's own account, from the users service.
import { createRoute, z } from "@hono/zod-openapi";
import { userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";

export const User = z
  .strictObject({
    user_id: z.number().int().positive(),
    email: z.email(),
    name: z.string(),
    role: z.enum(["customer", "admin", "courier"]),
  })
  .openapi("User");

const me = createRoute({
  method: "get",
  path: "/",
  tags: ["auth"],
  summary: "The caller's account",
  security: needsToken,
  responses: {
    200: jsonResponse("The account the token belongs to.", User),
    ...errorResponses([401, 403, 404], { 403: "FORBIDDEN: a service token is no user.", 404: "NOT_FOUND: the account is gone." }),
  },
});

export const meRoutes = (users: UpstreamClient, deadlineMs: number) =>
  openApiRouter<{ Variables: AuthVariables }>().openapi(me, (c) => passedOn(forward(c, users, deadlineMs, "GET", `/users/${userOf(c)}`)));
