// The status page (/status) from the BFF's GET /admin/status, and its switches (POST /status/switches -> BFF
// PUT /admin/chaos/inventory). Open to admins; in a development run (settings.ts) to every visitor, who sees
// the page and is told the BFF gives its status to admins only. Each read records the upstreams' latency in the
// app's history (status-history.ts), which the sparklines draw.
import { Hono, type Context } from "hono";
import { SystemStatus } from "../admin-shapes.ts";
import { BffUnavailableError } from "../bff.ts";
import { bffGet, bffSend, requireSession } from "../calls.ts";
import { loadChrome } from "../chrome.ts";
import type { WebEnv } from "../context.ts";
import { ForbiddenPageError } from "../errors.ts";
import { formOf, withNotice } from "../forms.ts";
import type { NoticeCode } from "../notices.ts";
import { StatusPage } from "../views/status.tsx";

const WHAT = "the status page";
const ADMIN_ONLY = "The BFF gives its status to admins only: log in as an admin (admin@storefront.test) to see it.";
const MAX_DELAY_MS = 60_000;

/** Whether the visitor may open the page and use its switches: an admin, or anyone in development. */
function mayUse(c: Context<WebEnv>): boolean {
  const { development } = c.get("services");
  const session = c.get("session");
  if (development || session?.role === "admin") return true;
  requireSession(c);
  throw new ForbiddenPageError(WHAT);
}

type Read = { status: SystemStatus | null; problem?: string; httpStatus: 200 | 503 };

async function readStatus(c: Context<WebEnv>): Promise<Read> {
  const session = c.get("session");
  try {
    const reply = await bffGet(c, "/admin/status", { anonymous: !session });
    if (reply.status === 401 || reply.status === 403) return { status: null, problem: ADMIN_ONLY, httpStatus: 200 };
    if (reply.status !== 200) throw new BffUnavailableError("client_error", reply.status, reply.body);
    const parsed = SystemStatus.safeParse(reply.body);
    if (!parsed.success) throw new BffUnavailableError("invalid_response", 200, null, { cause: parsed.error });
    return { status: parsed.data, httpStatus: 200 };
  } catch (err) {
    if (!(err instanceof BffUnavailableError)) throw err;
    c.get("services").logger.warn("status: no answer from the BFF", { request_id: c.get("requestId"), outcome: err.outcome, status: err.status });
    return { status: null, problem: "The BFF is not answering right now, so there is no status to show. This page keeps trying.", httpStatus: 503 };
  }
}

/** A delay in whole milliseconds, "" for none; undefined when it is neither. */
function delayOf(raw: string | undefined): number | null | undefined {
  const text = raw?.trim() ?? "";
  if (text === "") return null;
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_DELAY_MS ? n : undefined;
}

/** The BFF's body for the form, or null when the form is not valid. */
export function switchesBody(form: Record<string, string>): { delay_ms: { min: number; max: number } | null; fail_rate: number } | null {
  const min = delayOf(form.delay_min);
  const max = delayOf(form.delay_max);
  const rateText = form.fail_rate?.trim() ?? "";
  if (min === undefined || max === undefined || !/^[0-9]{1,3}(\.[0-9]{1,4})?$/.test(rateText)) return null;
  const percent = Number(rateText);
  if (percent > 100) return null;
  // One delay given alone is a fixed delay; none is none.
  const low = min ?? max;
  const high = max ?? min;
  if (low !== null && high !== null && low > high) return null;
  return { delay_ms: low === null || high === null ? null : { min: low, max: high }, fail_rate: Math.round(percent * 100) / 10_000 };
}

const SWITCH_NOTICES: Partial<Record<number, NoticeCode>> = {
  200: "switches-set",
  204: "switches-set",
  400: "switches-invalid",
  401: "switches-admin-only",
  403: "switches-admin-only",
  404: "switches-off",
};

export const statusRoutes = () =>
  new Hono<WebEnv>()
    .get("/status", async (c) => {
      mayUse(c);
      const chrome = loadChrome(c);
      const read = await readStatus(c);
      const { statusHistory } = c.get("services");
      if (read.status?.upstreams) {
        statusHistory.record(read.status.upstreams.map((u) => ({ name: u.name, p50: u.latency_ms?.p50 ?? null, p99: u.latency_ms?.p99 ?? null })));
      }
      const page = StatusPage({
        chrome: await chrome,
        status: read.status,
        problem: read.problem,
        history: statusHistory,
        refresh: c.req.query("refresh") !== "off",
        switches: true,
      });
      return c.html(page, read.httpStatus);
    })
    .post("/status/switches", async (c) => {
      mayUse(c);
      const body = switchesBody(await formOf(c));
      if (!body) return c.redirect(withNotice("/status", "switches-invalid"), 303);
      const reply = await bffSend(c, "PUT", "/admin/chaos/inventory", { json: body, anonymous: !c.get("session") });
      const notice = SWITCH_NOTICES[reply.status];
      if (!notice) throw new BffUnavailableError("client_error", reply.status, reply.body);
      return c.redirect(withNotice("/status", notice), 303);
    });
