// The inbox (/notifications, newest first, a page at a time) and marking one read.
import { Hono } from "hono";
import { BffUnavailableError } from "../bff.ts";
import { bffGet, bffSend, requireSession } from "../calls.ts";
import { loadChrome, UNREAD_WINDOW } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { positiveId, withNotice } from "../forms.ts";
import { bodyAs, Inbox } from "../shapes.ts";
import { NotificationsPage } from "../views/notifications.tsx";

const PAGE = 20;

export const notificationsRoutes = () =>
  new Hono<WebEnv>()
    .get("/notifications", async (c) => {
      requireSession(c);
      const beforeRaw = c.req.query("before");
      const before = positiveId(beforeRaw);
      if (beforeRaw !== undefined && before === undefined) throw new PageNotFoundError("this page of notifications");
      // The first page is read as wide as the header's unread count, so one call serves both.
      const limit = before === undefined ? UNREAD_WINDOW : PAGE;
      const reply = await bffGet(c, `/notifications?limit=${limit}${before === undefined ? "" : `&before=${before}`}`);
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const all = bodyAs(reply, Inbox, "notifications");
      const unread = before === undefined ? all.filter((n) => n.read_at === null).length : undefined;
      const chrome = await loadChrome(c, unread === undefined ? {} : { unread: { unread, more: unread === UNREAD_WINDOW } });
      const items = all.slice(0, PAGE);
      const last = items.at(-1);
      const more = all.length > PAGE || (before !== undefined && all.length === PAGE);
      return c.html(NotificationsPage({ chrome, items, before: more && last ? last.id : null, paged: before !== undefined }));
    })
    .post("/notifications/:id/read", async (c) => {
      requireSession(c);
      const id = positiveId(c.req.param("id"));
      if (id === undefined) throw new PageNotFoundError("this notification");
      const reply = await bffSend(c, "POST", `/notifications/${id}/read`);
      if (reply.status === 404) throw new PageNotFoundError("this notification");
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      return c.redirect(withNotice("/notifications", "notification-read"), 303);
    });
