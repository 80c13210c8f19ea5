// /notifications: the calling user's in-app inbox, forwarded to the notifications service.
import { Hono } from "hono";
import { z } from "zod";
import { positiveIntString, validate } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { currentUser, requireUser, type UserVariables } from "../middleware/user-id.ts";
import type { UpstreamClient } from "@storefront/shared/upstream/client";

const pageQuery = z.strictObject({
  limit: positiveIntString.refine((n) => n <= 100, "must be at most 100").optional(),
  before: positiveIntString.optional(),
});
const notificationParams = z.strictObject({ id: positiveIntString });

export const notificationsRoutes = (notifications: UpstreamClient, deadlineMs: number) =>
  new Hono<{ Variables: UserVariables }>()
    .use(requireUser())
    .get("/", validate("query", pageQuery), (c) => {
      const { limit, before } = c.req.valid("query");
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (before !== undefined) query.set("before", String(before));
      const qs = query.size ? `?${query}` : "";
      return forward(c, notifications, deadlineMs, "GET", `/users/${currentUser(c)}/notifications${qs}`);
    })
    .post("/:id/read", validate("param", notificationParams), (c) =>
      forward(c, notifications, deadlineMs, "POST", `/users/${currentUser(c)}/notifications/${c.req.valid("param").id}/read`),
    );
