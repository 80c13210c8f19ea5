// Sessions: a login starts a family of refresh tokens, each refresh uses one up and adds the next (rotation),
// and a token presented again after its use revokes the whole family: either the client or a thief holds a
// copy, and the server cannot tell which, so both must log in again (OAuth 2.0 Security BCP, 4.14.2).
// Except within REFRESH_TOKEN_REUSE_S (10 s) of its use: a token presented again that soon gets a pair of its
// own in the same family, as Auth0's and Okta's "reuse interval" do. Two tabs, or two requests of one page that
// land on two web or BFF replicas, refresh with the same token at the same moment; without the window the
// second would end the session. A thief gains that window at most; after it, a replay ends the family as before.
// Each new refresh token gets the full REFRESH_TOKEN_TTL_S: a session lasts while it is used at least that often.
//
// Every refusal here is 401 INVALID_CREDENTIALS with one message, whether the token is unknown, expired, used
// or revoked: the caller presented a credential in the body, not an access token (UNAUTHENTICATED, with its
// WWW-Authenticate challenge, is for the Authorization header), and the reason is of use only to an attacker.
import { createHash, randomBytes } from "node:crypto";
import type { Sql } from "postgres";
import type { TokenSigner } from "@storefront/shared/auth/token-signer";
import { AppError } from "@storefront/shared/errors";
import { insertRefreshToken, recentlyUsedRefreshToken, refreshTokenState, revokeFamily, revokeUserTokens, useRefreshToken } from "./db/refresh-tokens.ts";
import type { UserRole } from "./db/users.ts";

export type Ttls = {
  accessS: number;
  refreshS: number;
  serviceS: number;
  /** How long after its use a refresh token may be presented again for a pair of its own; 0: never. */
  reuseS: number;
};

export type TokenPair = { access_token: string; token_type: "Bearer"; expires_in: number; refresh_token: string };

export type Sessions = {
  start(user: { user_id: number; role: UserRole }): Promise<TokenPair>;
  /** The next pair for a live refresh token; a 401 AppError otherwise. */
  rotate(refreshToken: string): Promise<TokenPair>;
  /** Logout: every refresh token of the user stops working (access tokens run out on their own). */
  endAll(userId: number): Promise<void>;
};

const REFRESH_TOKEN_PREFIX = "rt_";

/** Only this digest is stored: the token itself is a bearer secret. */
export const hashRefreshToken = (token: string): Buffer => createHash("sha256").update(token).digest();

const newRefreshToken = () => {
  const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashRefreshToken(token) };
};

export const refreshRefused = () => new AppError(401, "INVALID_CREDENTIALS", "the refresh token is not valid; log in again");

export function createSessions(deps: { sql: Sql; signer: TokenSigner; ttls: Ttls; now: () => number }): Sessions {
  const { sql, signer, ttls, now } = deps;
  const expiry = (at: Date) => new Date(at.getTime() + ttls.refreshS * 1000);

  const pair = async (userId: number, role: UserRole, refreshToken: string): Promise<TokenPair> => ({
    access_token: await signer.sign({ sub: String(userId), role }, ttls.accessS),
    token_type: "Bearer",
    expires_in: ttls.accessS,
    refresh_token: refreshToken,
  });

  return {
    async start({ user_id, role }) {
      const at = new Date(now());
      const next = newRefreshToken();
      await insertRefreshToken(sql, { familyId: crypto.randomUUID(), userId: user_id, tokenHash: next.hash, createdAt: at, expiresAt: expiry(at) });
      return pair(user_id, role, next.token);
    },

    async rotate(refreshToken) {
      const presented = hashRefreshToken(refreshToken);
      const at = new Date(now());
      const next = newRefreshToken();
      // Use, insert the successor and sign in one transaction: a failure leaves the old token usable.
      const issued = (await sql.begin(async (tx) => {
        const used =
          (await useRefreshToken(tx, presented, at)) ??
          (ttls.reuseS > 0 ? await recentlyUsedRefreshToken(tx, presented, new Date(at.getTime() - ttls.reuseS * 1000), at) : null);
        if (!used) return null;
        await insertRefreshToken(tx, { familyId: used.family_id, userId: used.user_id, tokenHash: next.hash, createdAt: at, expiresAt: expiry(at) });
        return pair(used.user_id, used.role, next.token);
      })) as TokenPair | null;
      if (issued) return issued;
      const state = await refreshTokenState(sql, presented);
      if (state && (state.used || state.revoked)) await revokeFamily(sql, state.family_id, at);
      throw refreshRefused();
    },

    async endAll(userId) {
      await revokeUserTokens(sql, userId, new Date(now()));
    },
  };
}
