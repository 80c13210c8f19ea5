// /auth: register, log in, refresh, log out, and the client-credentials exchange for service tokens.
// Only logout needs an access token; the others take credentials in the body and must keep working for a
// client that still sends an expired access token (which is exactly who calls /auth/refresh).
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { authenticate, userOf } from "@storefront/shared/auth/authenticate";
import type { TokenSigner } from "@storefront/shared/auth/token-signer";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import { AppError } from "@storefront/shared/errors";
import type { Logger } from "@storefront/shared/observability/logger";
import { validate } from "@storefront/shared/validate";
import { findCredentials, insertUser, replacePasswordHash } from "../db/users.ts";
import type { Passwords } from "../passwords.ts";
import type { Sessions, Ttls } from "../sessions.ts";

/** Trimmed and lowercased before it is checked, stored or looked up: one account per address, whatever its case. */
const email = z.string().trim().toLowerCase().max(254).pipe(z.email());
const newPassword = z.string().min(10).max(256);

const registerBody = z.strictObject({ email, password: newPassword, name: z.string().trim().min(1).max(100) });
// No length rule beyond the cap here: the rule may have changed since the password was chosen.
const loginBody = z.strictObject({ email, password: z.string().min(1).max(256) });
const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(200) });
const serviceTokenBody = z.strictObject({ client_id: z.string().min(1).max(64), client_secret: z.string().min(1).max(1024) });

// Tokens must not be kept by caches or proxies (RFC 6749, 5.1).
const NO_STORE = { "cache-control": "no-store" };

/** The same answer for an unknown email and a wrong password, so it does not tell which accounts exist. */
const invalidCredentials = () => new AppError(401, "INVALID_CREDENTIALS", "the email or password is not correct");

export type AuthRoutesDeps = {
  sql: Sql;
  signer: TokenSigner;
  verifier: TokenVerifier;
  passwords: Passwords;
  sessions: Sessions;
  ttls: Ttls;
  /** `(clientId, secret) => boolean`, constant-time (service-clients.ts). */
  checkServiceClient: (clientId: string, secret: string) => boolean;
  logger: Logger;
};

export const authRoutes = ({ sql, signer, verifier, passwords, sessions, ttls, checkServiceClient, logger }: AuthRoutesDeps) =>
  new Hono()
    .post("/register", validate("json", registerBody), async (c) => {
      const { email, password, name } = c.req.valid("json");
      const user = await insertUser(sql, { email, name, passwordHash: await passwords.hash(password), role: "customer" });
      if (!user) throw new AppError(409, "EMAIL_TAKEN", "an account with this email already exists");
      return c.json({ user_id: user.user_id, email: user.email, name: user.name }, 201, { location: `/users/${user.user_id}` });
    })
    .post("/login", validate("json", loginBody), async (c) => {
      const { email, password } = c.req.valid("json");
      const user = await findCredentials(sql, email);
      const matches = await passwords.verify(password, user?.password_hash ?? null);
      if (!user || !matches) throw invalidCredentials();
      if (passwords.needsRehash(user.password_hash)) {
        // The cost was changed since this hash was made; only now is the password at hand to redo it.
        await passwords
          .hash(password)
          .then((next) => replacePasswordHash(sql, user.user_id, user.password_hash, next))
          .catch((err) => logger.warn("rehashing a password at the new cost failed; the old hash stays", { user_id: user.user_id, error: String(err) }));
      }
      return c.json(await sessions.start(user), 200, NO_STORE);
    })
    .post("/refresh", validate("json", refreshBody), async (c) => {
      const { refresh_token } = c.req.valid("json");
      return c.json(await sessions.rotate(refresh_token), 200, NO_STORE);
    })
    .post("/logout", authenticate(verifier), async (c) => {
      await sessions.endAll(userOf(c));
      return c.body(null, 204);
    })
    .post("/service-token", validate("json", serviceTokenBody), async (c) => {
      const { client_id, client_secret } = c.req.valid("json");
      if (!checkServiceClient(client_id, client_secret)) throw new AppError(401, "INVALID_CREDENTIALS", "the client id or secret is not correct");
      const access_token = await signer.sign({ sub: client_id, role: "service" }, ttls.serviceS);
      return c.json({ access_token, token_type: "Bearer" as const, expires_in: ttls.serviceS }, 200, NO_STORE);
    });
