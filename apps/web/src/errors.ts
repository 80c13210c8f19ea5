// The web app's error pages, in place of the JSON envelope the services answer with: a missing page (404), a
// refused form or a page for another role (403), the BFF down or late (503 "The shop is unavailable right now"), our own bug (500,
// logged with its stack, never shown). A page that needs a login sends the browser to the login page instead.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "@storefront/shared/observability/logger";
import { BffUnavailableError } from "./bff.ts";
import { LoginRequiredError } from "./calls.ts";
import { plainChrome } from "./chrome.ts";
import type { WebEnv } from "./context.ts";
import { CsrfRejectedError } from "./csrf.ts";
import { formOf, safeNext, withNotice } from "./forms.ts";
import { ErrorPage } from "./views/error.tsx";

/** The thing a page is about does not exist (or is not the visitor's): a 404 page saying which. */
export class PageNotFoundError extends Error {
  constructor(readonly what: string) {
    super(`${what} not found`);
    this.name = "PageNotFoundError";
  }
}

/** The page is for another role (an admin's page for a customer, say): a 403 page. */
export class ForbiddenPageError extends Error {
  constructor(readonly what: string) {
    super(`${what} is not for this account`);
    this.name = "ForbiddenPageError";
  }
}

export const UNAVAILABLE_MESSAGE = "The shop is unavailable right now, please try again in a moment.";
/** How soon a visitor (or a crawler) may try again after a 503 page. */
const RETRY_AFTER_S = "5";

function page(c: Context<WebEnv>, status: ContentfulStatusCode, title: string, message: string) {
  c.header("cache-control", "no-store");
  return c.html(ErrorPage({ chrome: plainChrome(c), title, message, requestId: c.get("requestId") }), status);
}

/** Where to come back to after logging in: this page for a GET; for a form, the page it said it came from. */
async function returnPath(c: Context<WebEnv>): Promise<string> {
  if (c.req.method === "GET") return safeNext(`${c.req.path}${new URL(c.req.url).search}`);
  return safeNext((await formOf(c).catch(() => ({}) as Record<string, string>)).next);
}

export const htmlNotFound: NotFoundHandler<WebEnv> = (c) => page(c, 404, "Page not found", "There is no page at this address.");

export const htmlErrorHandler =
  (logger: Logger): ErrorHandler<WebEnv> =>
  async (err, c) => {
    if (err instanceof LoginRequiredError) {
      const next = await returnPath(c);
      return c.redirect(withNotice(`/login?next=${encodeURIComponent(next)}`, err.sessionEnded ? "session-ended" : "login-needed"), 303);
    }
    if (err instanceof PageNotFoundError) return page(c, 404, "Not found", `${err.what[0]!.toUpperCase()}${err.what.slice(1)} was not found.`);
    if (err instanceof ForbiddenPageError) {
      return page(c, 403, "Not for this account", `${err.what[0]!.toUpperCase()}${err.what.slice(1)} is not open to this account. Log in with an account that may use it.`);
    }
    if (err instanceof CsrfRejectedError || (err instanceof HTTPException && err.status === 403)) {
      return page(c, 403, "This form could not be accepted", "The form was sent from another site, or it has expired. Go back, reload the page and try again.");
    }
    if (err instanceof BffUnavailableError) {
      logger.warn("the BFF could not serve a page", { request_id: c.get("requestId"), path: c.req.path, outcome: err.outcome, status: err.status, error: String(err.cause ?? err) });
      c.header("retry-after", RETRY_AFTER_S);
      return page(c, 503, "The shop is unavailable", UNAVAILABLE_MESSAGE);
    }
    if (err instanceof HTTPException) {
      // Hono's own refusals of a request, e.g. a body it cannot parse.
      return page(c, err.status as ContentfulStatusCode, "That request could not be handled", "Please go back and try again.");
    }
    logger.error("unhandled error", { request_id: c.get("requestId") ?? null, method: c.req.method, path: c.req.path, error: String(err), stack: (err as Error)?.stack });
    return page(c, 500, "Something went wrong", "Something went wrong on our side. Please try again in a moment.");
  };
