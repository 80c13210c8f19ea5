// The logged-in user's session: the BFF's access and refresh tokens in HttpOnly, SameSite=Lax cookies (Secure,
// and __Host- prefixed, when secureCookies). An access token that has expired (or is about to) is traded for a
// new pair at the BFF's /auth/refresh before the page is served; the role shown in the navigation is read from
// the token's payload without verifying it (display only: the BFF checks every token it is sent).
import type { Role } from "@storefront/shared/auth/identity";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { BffUnavailableError, type BffClient } from "./bff.ts";
import type { WebEnv } from "./context.ts";
import { TokenPair } from "./shapes.ts";

export type Session = {
  accessToken: string;
  refreshToken: string | null;
  /** The token's `sub` as a user id. */
  userId: number;
  role: Role;
  /** When the access token expires, ms on the Date.now() clock. */
  expiresAt: number;
};

/** Refresh this long before the access token expires, so it does not run out on its way to the BFF. */
export const EXPIRY_MARGIN_MS = 15_000;
/**
 * A refresh token works once, and presenting a used one again ends the whole session (the users service's
 * reuse detection). Two requests of one browser often arrive with the same expired cookies (two tabs, a page
 * and a form): they share one refresh call, and for this long after it the new pair is handed to latecomers
 * still carrying the old refresh token instead of presenting it again. That saves calls within one process;
 * across web replicas the users service's own reuse window (REFRESH_TOKEN_REUSE_S, 10 s) keeps a second
 * replica's refresh with the same token from ending the session, so no sticky sessions are needed.
 */
export const REFRESH_REUSE_WINDOW_MS = 15_000;
/** The refresh cookie's life; the users service decides the token's own (30 days by default). */
export const REFRESH_COOKIE_MAX_AGE_S = 30 * 24 * 3600;

export type CookieNames = { access: string; refresh: string; csrf: string };

/** __Host- cookies are only accepted over HTTPS, for path / and without a Domain: nothing else can set them. */
export const cookieNames = (secure: boolean): CookieNames =>
  secure ? { access: "__Host-sf_access", refresh: "__Host-sf_refresh", csrf: "__Host-sf_csrf" } : { access: "sf_access", refresh: "sf_refresh", csrf: "sf_csrf" };

export const cookieOptions = (secure: boolean, maxAge: number) => ({ httpOnly: true, secure, sameSite: "Lax" as const, path: "/", maxAge });

const ROLES: readonly Role[] = ["customer", "admin", "courier"];

/** The claims a page uses, from a JWT's payload, unverified; null for anything that is not such a token. */
export function readClaims(token: string): { userId: number; role: Role; exp: number } | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown; role?: unknown; exp?: unknown };
    const userId = Number(claims.sub);
    if (!Number.isInteger(userId) || userId <= 0 || typeof claims.exp !== "number") return null;
    const role = ROLES.includes(claims.role as Role) ? (claims.role as Role) : "customer";
    return { userId, role, exp: claims.exp };
  } catch {
    return null;
  }
}

export type SessionStore = {
  readonly names: CookieNames;
  readonly secure: boolean;
  /** Reads the cookies, renews an expired access token, and sets `session` (null when not logged in). */
  middleware(): MiddlewareHandler<WebEnv>;
  /** After a login or a refresh: the cookies for `pair`, and the session they make. */
  establish(c: Context<WebEnv>, pair: TokenPair): Session;
  /** Logged out: both cookies removed, `session` null. */
  clear(c: Context<WebEnv>): void;
  /** The BFF refused the access token (401): trade the refresh token for a new pair; null when that is refused too. */
  renew(c: Context<WebEnv>): Promise<Session | null>;
};

export function createSessionStore(options: { bff: BffClient; secure: boolean; now: () => number }): SessionStore {
  const { bff, secure, now } = options;
  const names = cookieNames(secure);
  const recent = new Map<string, { pair: Promise<TokenPair | null>; keepUntil: number }>();

  const sessionOf = (accessToken: string, refreshToken: string | null): Session | null => {
    const claims = readClaims(accessToken);
    return claims ? { accessToken, refreshToken, userId: claims.userId, role: claims.role, expiresAt: claims.exp * 1000 } : null;
  };

  /** One refresh call per refresh token, its answer kept for REFRESH_REUSE_WINDOW_MS; null when refused. */
  function exchange(refreshToken: string, requestId: string): Promise<TokenPair | null> {
    const at = now();
    for (const [token, entry] of recent) if (entry.keepUntil < at) recent.delete(token);
    const known = recent.get(refreshToken);
    if (known) return known.pair;
    const pair = bff.send("POST", "/auth/refresh", { json: { refresh_token: refreshToken }, requestId }).then((reply) => {
      if (reply.status === 200) {
        const parsed = TokenPair.safeParse(reply.body);
        if (parsed.success) return parsed.data;
        throw new BffUnavailableError("invalid_response", 200, null);
      }
      // Unknown, expired, used or revoked (401), or malformed (400): this session is over.
      if (reply.status === 401 || reply.status === 400) return null;
      // Rate limited and the like: not an answer about the session; keep the cookies and try again later.
      throw new BffUnavailableError("client_error", reply.status, reply.body);
    });
    const entry = { pair, keepUntil: Number.POSITIVE_INFINITY };
    recent.set(refreshToken, entry);
    pair.then(
      () => (entry.keepUntil = now() + REFRESH_REUSE_WINDOW_MS),
      () => recent.delete(refreshToken), // a failed call is not an answer: the next request asks again
    );
    return pair;
  }

  const store: SessionStore = {
    names,
    secure,
    establish(c, pair) {
      setCookie(c, names.access, pair.access_token, cookieOptions(secure, Math.max(1, Math.floor(pair.expires_in))));
      setCookie(c, names.refresh, pair.refresh_token, cookieOptions(secure, REFRESH_COOKIE_MAX_AGE_S));
      const session = sessionOf(pair.access_token, pair.refresh_token);
      if (!session) throw new BffUnavailableError("invalid_response", 200, null, { cause: new Error("the access token has no user id or expiry") });
      c.set("session", session);
      return session;
    },
    clear(c) {
      setCookie(c, names.access, "", cookieOptions(secure, 0));
      setCookie(c, names.refresh, "", cookieOptions(secure, 0));
      c.set("session", null);
    },
    async renew(c) {
      const refreshToken = c.get("session")?.refreshToken ?? getCookie(c, names.refresh) ?? null;
      if (!refreshToken) return null;
      const pair = await exchange(refreshToken, c.get("requestId"));
      if (!pair) {
        store.clear(c);
        return null;
      }
      return store.establish(c, pair);
    },
    middleware() {
      return async (c, next) => {
        const access = getCookie(c, names.access);
        const refresh = getCookie(c, names.refresh) ?? null;
        let session = access ? sessionOf(access, refresh) : null;
        if (session && session.expiresAt - EXPIRY_MARGIN_MS <= now()) session = null;
        c.set("session", session);
        if (!session && refresh) {
          try {
            await store.renew(c);
          } catch (err) {
            // The BFF is down: the page renders as for a visitor (and says why if it needed the BFF). The
            // cookies stay, so the session resumes once the BFF is back.
            if (!(err instanceof BffUnavailableError)) throw err;
            c.get("services").logger.warn("session refresh failed; serving as logged out", { request_id: c.get("requestId"), outcome: err.outcome });
            c.set("session", null);
          }
        }
        await next();
      };
    },
  };
  return store;
}
