// Test stand-ins for the users, favorites and cart services: a real Bun.serve on a free port (so the worker's
// real fetch, deadline and breaker are exercised, in this process or a spawned one), answering from maps the
// test fills. `hold` lets a test keep a favorites answer pending for as long as it likes. The users part
// exchanges a client id and secret for a service token (POST /auth/service-token) signed by its own test
// issuer, and publishes that issuer's key (GET /.well-known/jwks.json); favorites and cart answer only a
// service token that verifies against it, as the real ones do (401 without one, 403 for another role).
import { randomUUID } from "node:crypto";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";

export type FavoritesRequest = { productId: number; after: number; limit: number };

/** A call to favorites or cart, as the stub saw it: whose token it carried, and whether it was let in. */
export type Caller = { path: string; status: "accepted" | 401 | 403; sub: string | null; role: Role | null };

/** The client id the users stub knows (the worker's default SERVICE_CLIENT_ID). */
export const STUB_CLIENT_ID = "notifications";
export const SERVICE_TOKEN_TTL_S = 300;

export type StubServices = {
  url: string;
  /** product_id -> user_ids who favorited it */
  favorites: Map<number, number[]>;
  /** Products the stub answers 404 for (as if the favorites service knew the product does not exist). */
  unknownProducts: Set<number>;
  /** user_id -> number of cart lines */
  carts: Map<number, number>;
  /** The favorited-by calls that were let in. */
  favoritesRequests: FavoritesRequest[];
  /** A status to answer a cart read with instead of the data, or undefined for the data. */
  cartFailWith: ((userId: number) => number | undefined) | undefined;
  /** Runs before each favorited-by answer; the answer waits for the returned promise. */
  hold: ((request: FavoritesRequest) => Promise<void> | void) | undefined;
  /** A status to answer favorited-by with instead of the data (e.g. 503), or undefined for the data. */
  failWith: ((request: FavoritesRequest) => number | undefined) | undefined;
  /** The users service's signing key: what the tokens are signed with, and what a test signs users' tokens with. */
  issuer: TestIssuer;
  /** client_id -> client_secret: the service clients the users stub accepts. */
  serviceClients: Map<string, string>;
  /** USERS_URL, SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET for a notifications process using these stubs. */
  serviceEnv: { USERS_URL: string; SERVICE_CLIENT_ID: string; SERVICE_CLIENT_SECRET: string };
  /** Every service token the users stub issued, in order. */
  issuedTokens: string[];
  /** Every call to favorites or cart, let in or not. */
  callers: Caller[];
  /** From now on favorites and cart refuse every token issued so far (401), as after a key rotation. */
  revokeIssuedTokens(): void;
  stop(): Promise<void>;
};

const BEARER = /^Bearer +(\S+)$/i;
const errorReply = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  Response.json({ error: { code, message } }, { status, headers });

export async function startStubServices(): Promise<StubServices> {
  const issuer = await createTestIssuer();
  const secret = `stub-secret-${randomUUID()}`;
  const revoked = new Set<string>();
  const stubs: Omit<StubServices, "url" | "serviceEnv" | "stop"> = {
    favorites: new Map(),
    unknownProducts: new Set(),
    carts: new Map(),
    favoritesRequests: [],
    hold: undefined,
    failWith: undefined,
    cartFailWith: undefined,
    issuer,
    serviceClients: new Map([[STUB_CLIENT_ID, secret]]),
    issuedTokens: [],
    callers: [],
    revokeIssuedTokens: () => stubs.issuedTokens.forEach((token) => revoked.add(token)),
  };

  /** The users service's side: client credentials for a service token. */
  async function serviceToken(req: Request): Promise<Response> {
    const body = (await req.json().catch(() => null)) as { client_id?: unknown; client_secret?: unknown } | null;
    const clientId = body?.client_id;
    if (typeof clientId !== "string" || typeof body?.client_secret !== "string" || stubs.serviceClients.get(clientId) !== body.client_secret) {
      return errorReply(401, "INVALID_CREDENTIALS", "unknown client or wrong secret");
    }
    const access_token = await issuer.token(clientId, "service", SERVICE_TOKEN_TTL_S);
    stubs.issuedTokens.push(access_token);
    return Response.json({ access_token, token_type: "Bearer", expires_in: SERVICE_TOKEN_TTL_S });
  }

  /** A refusal when the call does not carry a service token that verifies; undefined lets it in. */
  async function refusal(req: Request, path: string): Promise<Response | undefined> {
    const token = BEARER.exec(req.headers.get("authorization") ?? "")?.[1];
    const identity = token && !revoked.has(token) ? await issuer.verifier.verify(token).catch(() => null) : null;
    if (!identity) {
      stubs.callers.push({ path, status: 401, sub: null, role: null });
      return errorReply(401, "UNAUTHENTICATED", "a valid access token is needed", { "www-authenticate": 'Bearer error="invalid_token"' });
    }
    if (identity.role !== "service") {
      stubs.callers.push({ path, status: 403, sub: identity.sub, role: identity.role });
      return errorReply(403, "FORBIDDEN", "this route is for service or admin only");
    }
    stubs.callers.push({ path, status: "accepted", sub: identity.sub, role: identity.role });
    return undefined;
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "GET" && url.pathname === "/.well-known/jwks.json") return Response.json(issuer.jwks);
      if (req.method === "POST" && url.pathname === "/auth/service-token") return serviceToken(req);

      const favoritedBy = url.pathname.match(/^\/products\/(\d+)\/favorited-by$/);
      const cart = url.pathname.match(/^\/users\/(\d+)\/cart$/);
      if (!favoritedBy && !cart) return errorReply(404, "NOT_FOUND", "no such route");
      const refused = await refusal(req, url.pathname);
      if (refused) return refused;

      if (favoritedBy) {
        const request = { productId: Number(favoritedBy[1]), after: Number(url.searchParams.get("after") ?? 0), limit: Number(url.searchParams.get("limit") ?? 500) };
        stubs.favoritesRequests.push(request);
        await stubs.hold?.(request);
        const failure = stubs.failWith?.(request);
        if (failure) return errorReply(failure, "INJECTED_FAILURE", "stub failure");
        if (stubs.unknownProducts.has(request.productId)) return errorReply(404, "NOT_FOUND", "unknown product");
        const users = [...(stubs.favorites.get(request.productId) ?? [])].sort((a, b) => a - b);
        return Response.json(users.filter((u) => u > request.after).slice(0, request.limit).map((user_id) => ({ user_id })));
      }
      const userId = Number(cart![1]);
      const failure = stubs.cartFailWith?.(userId);
      if (failure) return errorReply(failure, "INJECTED_FAILURE", "stub failure");
      const lines = stubs.carts.get(userId) ?? 0;
      return Response.json(Array.from({ length: lines }, (_, i) => ({ product_id: i + 1, quantity: 1 })));
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return Object.assign(stubs, {
    url,
    serviceEnv: { USERS_URL: url, SERVICE_CLIENT_ID: STUB_CLIENT_ID, SERVICE_CLIENT_SECRET: secret },
    stop: () => server.stop(true),
  });
}
