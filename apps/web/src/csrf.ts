// CSRF protection for every POST: hono/csrf's check that the request comes from our own origin (Origin, or
// Sec-Fetch-Site: same-origin), and a per-session token that every form carries in a hidden `_csrf` field and
// that must equal the one in the visitor's HttpOnly cookie (set on the first page they load, replaced at login
// and logout). A POST without it is refused with a 403 page before any handler runs.
import { timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import type { WebEnv } from "./context.ts";
import { formOf } from "./forms.ts";
import { cookieOptions, REFRESH_COOKIE_MAX_AGE_S, type SessionStore } from "./session.ts";

export const CSRF_FIELD = "_csrf";
const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The POST did not carry this visitor's token (a forged form, or a page from before the last login). */
export class CsrfRejectedError extends Error {
  constructor() {
    super("the form's CSRF token is missing or does not match");
    this.name = "CsrfRejectedError";
  }
}

const newToken = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** A new token (and cookie): at login and logout, so a token seen before the session changed is worth nothing after. */
export function rotateCsrfToken(c: Context<WebEnv>, sessions: SessionStore): string {
  const token = newToken();
  setCookie(c, sessions.names.csrf, token, cookieOptions(sessions.secure, REFRESH_COOKIE_MAX_AGE_S));
  c.set("csrfToken", token);
  return token;
}

/** The origin check (HTTPException 403, answered as the same page by errors.ts) and the token check. */
export function csrfProtection(sessions: SessionStore): MiddlewareHandler<WebEnv>[] {
  const token: MiddlewareHandler<WebEnv> = async (c, next) => {
    const current = getCookie(c, sessions.names.csrf);
    const valid = current !== undefined && TOKEN.test(current) ? current : undefined;
    if (SAFE_METHOD.test(c.req.method)) {
      if (valid) c.set("csrfToken", valid);
      else rotateCsrfToken(c, sessions);
      return next();
    }
    const sent = (await formOf(c))[CSRF_FIELD];
    if (!valid || sent === undefined || !same(sent, valid)) throw new CsrfRejectedError();
    c.set("csrfToken", valid);
    await next();
  };
  return [csrf(), token];
}
