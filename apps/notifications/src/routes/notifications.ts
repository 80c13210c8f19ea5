// /users/:id/notifications: a user's in-app inbox, newest first, and marking one read. A customer's token
// reaches only their own inbox (admins and services any): checked first, before the query or body.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireSelf } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { idParams, positiveIntString, validate } from "@storefront/shared/validate";
import { listInbox, markRead } from "../db/inbox.ts";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

/** Notification ids are bigint: any positive decimal integer JavaScript holds exactly. */
const notificationId = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer")
  .transform(Number)
  .refine(Number.isSafeInteger, "is too large");

const pageQuery = z.strictObject({
  limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
  before: notificationId.optional(),
});

const notificationParams = z.strictObject({ id: idParams.shape.id, nid: notificationId });

export const notificationsRoutes = (sql: Sql) =>
  new Hono()
    .get("/:id/notifications", requireSelf(), validate("param", idParams), validate("query", pageQuery), async (c) => {
      const { id } = c.req.valid("param");
      const { limit = DEFAULT_PAGE, before = null } = c.req.valid("query");
      return c.json(await listInbox(sql, id, { limit, before }));
    })
    .post("/:id/notifications/:nid/read", requireSelf(), validate("param", notificationParams), async (c) => {
      const { id, nid } = c.req.valid("param");
      const item = await markRead(sql, id, nid);
      // Another user's notification is as absent as one that never existed: its existence is not this user's to learn.
      if (!item) throw new AppError(404, "NOT_FOUND", `notification ${nid} not found`);
      return c.json(item);
    });
