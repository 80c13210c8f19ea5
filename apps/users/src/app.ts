// The users service: accounts, passwords, sessions (access and refresh tokens), service tokens, and the public
// keys every other app verifies tokens with. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { PublicJwk } from "@storefront/shared/auth/keys";
import type { TokenSigner } from "@storefront/shared/auth/token-signer";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { createPasswords, type PasswordCost } from "./passwords.ts";
import { authRoutes } from "./routes/auth.ts";
import { jwksRoutes } from "./routes/jwks.ts";
import { usersRoutes } from "./routes/users.ts";
import { serviceClientCheck } from "./service-clients.ts";
import { createSessions, type Ttls } from "./sessions.ts";

export type UsersDeps = {
  sql: Sql;
  /** Signs with the current key. */
  signer: TokenSigner;
  /** Served at /.well-known/jwks.json: the current key's public half, then the retired ones. */
  publishedKeys: PublicJwk[];
  /** Over publishedKeys (localKeys): the service checks its own tokens without calling itself. */
  verifier: TokenVerifier;
  password: PasswordCost;
  ttls: Ttls;
  /** client id -> secret, for POST /auth/service-token; empty: no service clients. */
  serviceClients: Map<string, string>;
  /** The clock for refresh tokens' creation and expiry; the signer has its own. */
  now?: () => number;
  observability?: Observability;
};

export function createApp({ sql, signer, publishedKeys, verifier, password, ttls, serviceClients, now = Date.now, observability }: UsersDeps) {
  const obs = observability ?? createObservability("users");
  // No verifier for the whole app: login and refresh must not fail over a stale Authorization header.
  const app = createServiceApp({ service: "users", ready: databaseReady(sql), observability: obs });
  const sessions = createSessions({ sql, signer, ttls, now });
  const passwords = createPasswords(password);
  const checkServiceClient = serviceClientCheck(serviceClients);
  app.route("/auth", authRoutes({ sql, signer, verifier, passwords, sessions, ttls, checkServiceClient, logger: obs.logger }));
  app.route("/users", usersRoutes(sql, verifier));
  app.route("/.well-known", jwksRoutes(publishedKeys));
  return app;
}
