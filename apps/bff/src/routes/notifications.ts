// /notifications: the calling user's in-app inbox, forwarded to the notifications service.
import { createRoute, z } from "@hono/zod-openapi";
import { positiveIntString } from "@storefront/shared/validate";
import { requireIdentity, userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";

const MAX_PAGE = 100;

const pageQuery = z.strictObject({
  limit: positiveIntString
    .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional()
    .openapi({ description: `How many, 1-${MAX_PAGE}; 20 when left out.`, example: "20" }),
  before: positiveIntString.optional().openapi({ description: "Only notifications with a smaller id: the last id of the previous page." }),
});
const notificationParams = z.strictObject({ id: positiveIntString.openapi({ description: "The notification's id.", example: "9" }) });

export const InboxItem = z
  .strictObject({
    id: z.number().int().positive(),
    type: z.string().openapi({ example: "stock.back_in_stock" }),
    title: z.string(),
    body: z.string(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "The event's details, by type." }),
    created_at: z.iso.datetime(),
    read_at: z.iso.datetime().nullable(),
  })
  .openapi("InboxItem");

const tags = ["notifications"];
const FORBIDDEN = "FORBIDDEN: a service token has no inbox of its own.";

const list = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The caller's inbox",
  description: "Newest first, a page at a time: pass the last id as `before` for the next page.",
  security: needsToken,
  request: { query: pageQuery },
  responses: { 200: jsonResponse("A page of notifications, newest first.", z.array(InboxItem)), ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

const markRead = createRoute({
  method: "post",
  path: "/{id}/read",
  tags,
  summary: "Mark a notification read",
  description: "Idempotent: read_at keeps the first time.",
  security: needsToken,
  request: { params: notificationParams },
  responses: {
    200: jsonResponse("The notification, read.", InboxItem),
    ...errorResponses([400, 401, 403, 404], { 403: FORBIDDEN, 404: "NOT_FOUND: no such notification in the caller's inbox." }),
  },
});

export const notificationsRoutes = (notifications: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireIdentity());
  return router
    .openapi(list, (c) => {
      const { limit, before } = c.req.valid("query");
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (before !== undefined) query.set("before", String(before));
      const qs = query.size ? `?${query}` : "";
      return passedOn(forward(c, notifications, deadlineMs, "GET", `/users/${userOf(c)}/notifications${qs}`));
    })
    .openapi(markRead, (c) =>
      passedOn(forward(c, notifications, deadlineMs, "POST", `/users/${userOf(c)}/notifications/${c.req.valid("param").id}/read`)),
    );
};
