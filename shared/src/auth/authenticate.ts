// Authentication for every app: who the caller is comes from `Authorization: Bearer <access token>` and
// nothing else. authenticate() verifies a token when there is one; the guards below refuse what a route does
// not allow (401 with WWW-Authenticate, RFC 6750; 403 for a valid token that may not do this).
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { AppError } from "../errors.ts";
import { ACTS_FOR_ANY_USER, type AuthVariables, type Identity, type Role } from "./identity.ts";
import { InvalidTokenError, KeysUnavailableError, type TokenVerifier } from "./token-verifier.ts";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

const unauthenticated = (message: string, challenge = "Bearer") =>
  new AppError(401, "UNAUTHENTICATED", message, { headers: { "www-authenticate": challenge } });

// The message can name the token's kid, which the caller chooses: keep only what RFC 6750 allows in
// error_description (printable ASCII but " and \); a CR, LF, NUL or non-Latin-1 character made the header throw (a 500).
const invalidToken = (message: string) =>
  unauthenticated(message, `Bearer error="invalid_token", error_description="${message.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "")}"`);

/**
 * Sets `identity`: null without an Authorization header. A header that is not a valid Bearer token is a 401
 * even on routes that also serve anonymous callers: a client holding an expired token should learn it.
 */
export const authenticate = (verifier: TokenVerifier) =>
  createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      c.set("identity", null);
      return next();
    }
    const match = BEARER.exec(header);
    if (!match) throw invalidToken("the Authorization header must be a Bearer token");
    try {
      c.set("identity", await verifier.verify(match[1]!));
    } catch (err) {
      if (err instanceof InvalidTokenError) throw invalidToken(err.message);
      if (err instanceof KeysUnavailableError) {
        throw new AppError(503, "AUTH_UNAVAILABLE", "tokens cannot be checked right now", { cause: err, headers: { "retry-after": "1" } });
      }
      throw err;
    }
    await next();
  });

/** The caller of a route that needs one: a 401 without a token. */
export function identityOf(c: Context): Identity {
  const identity = (c.get as (key: "identity") => Identity | null | undefined)("identity");
  if (!identity) throw unauthenticated("this route needs an access token: Authorization: Bearer <token>");
  return identity;
}

/** The user behind a user-scoped route (a service or admin token has no cart of its own): 401 without one. */
export function userOf(c: Context): number {
  const { userId } = identityOf(c);
  if (userId === null) throw new AppError(403, "FORBIDDEN", "this route acts for a user; a service token has no user");
  return userId;
}

export const requireIdentity = () =>
  createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    identityOf(c);
    await next();
  });

export const requireRole = (...roles: Role[]) =>
  createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    const { role } = identityOf(c);
    if (!roles.includes(role)) throw new AppError(403, "FORBIDDEN", `this route is for ${roles.join(" or ")} only`);
    await next();
  });

/**
 * For `/users/:id/...` on the services: the path's user must be the token's, unless the caller acts for any
 * user (admin, service). Checked before the body is read or anything is looked up.
 */
export const requireSelf = (param = "id") =>
  createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    const identity = identityOf(c);
    if (!ACTS_FOR_ANY_USER.includes(identity.role) && c.req.param(param) !== identity.sub) {
      throw new AppError(403, "FORBIDDEN", "this token may not act on another user's data");
    }
    await next();
  });
