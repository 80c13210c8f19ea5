// /.well-known/jwks.json: the public keys access tokens are verified with, the current one and those retired
// during a rotation, so verifiers everywhere accept tokens signed before the switch until they expire.
import { Hono } from "hono";
import type { PublicJwk } from "@storefront/shared/auth/keys";

export const jwksRoutes = (publishedKeys: PublicJwk[]) => {
  // Only the public members, even if a caller handed over a private JWK by mistake.
  const body = { keys: publishedKeys.map(({ d: _private, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart }) => publicPart) };
  // Verifiers refetch on an unknown kid anyway; five minutes keeps the load low without delaying a rotation much.
  return new Hono().get("/jwks.json", (c) => c.json(body, 200, { "cache-control": "public, max-age=300" }));
};
