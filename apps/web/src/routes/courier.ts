// The courier's page (/courier, a page at a time with `after`) and "Mark delivered" (BFF POST
// /courier/deliveries/:id/done). A 404 (not theirs, or gone) and a 409 (delivered already, or cancelled) come
// back to the page as a notice in words.
import { Hono, type Context } from "hono";
import { DeliveryPage } from "../admin-shapes.ts";
import { BffUnavailableError } from "../bff.ts";
import { bffGet, bffSend } from "../calls.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { PageNotFoundError } from "../errors.ts";
import { formOf, positiveId, safeNext, withNotice } from "../forms.ts";
import type { NoticeCode } from "../notices.ts";
import { refuseForbidden, requireRole } from "../roles.ts";
import { bodyAs } from "../shapes.ts";
import { CourierPage } from "../views/courier.tsx";

const WHAT = "the courier's page";
export const COURIER_PAGE = 20;

const DONE_NOTICES: Partial<Record<number, NoticeCode>> = { 200: "delivery-done", 404: "delivery-not-yours", 409: "delivery-not-open" };

const courierHref = (after: number | undefined) => (after === undefined ? "/courier" : `/courier?after=${after}`);

export const courierRoutes = () =>
  new Hono<WebEnv>()
    .get("/courier", async (c: Context<WebEnv>) => {
      requireRole(c, "courier", WHAT);
      const afterRaw = c.req.query("after");
      const after = positiveId(afterRaw);
      if (afterRaw !== undefined && after === undefined) throw new PageNotFoundError("this page of deliveries");
      const chrome = loadChrome(c);
      const reply = refuseForbidden(await bffGet(c, `/courier/deliveries?limit=${COURIER_PAGE}${after === undefined ? "" : `&after=${after}`}`), WHAT);
      if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const page = bodyAs(reply, DeliveryPage, "courier deliveries");
      return c.html(CourierPage({ chrome: await chrome, here: courierHref(after), deliveries: page.deliveries, next: page.next_after ? courierHref(page.next_after) : null }));
    })
    .post("/courier/deliveries/:id/done", async (c) => {
      requireRole(c, "courier", WHAT);
      const id = positiveId(c.req.param("id"));
      if (id === undefined) throw new PageNotFoundError("this delivery");
      const form = await formOf(c);
      const reply = refuseForbidden(await bffSend(c, "POST", `/courier/deliveries/${id}/done`), WHAT);
      const notice = DONE_NOTICES[reply.status];
      if (!notice) throw new BffUnavailableError("client_error", reply.status, reply.body);
      const to = safeNext(form.next, "/courier");
      return c.redirect(withNotice(to === "/courier" || to.startsWith("/courier?") ? to : "/courier", notice), 303);
    });
