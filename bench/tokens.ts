// Access tokens for the load, signed here with the private key the run gave the users service: no login (and no
// argon2 hash) on the measured path, any user id on demand, and tokens the apps accept exactly as the users
// service's own (same key, same claims; they fetch its JWKS).
import { loadSigningKey, type PublicJwk } from "../shared/src/auth/keys.ts";
import { createTokenSigner } from "../shared/src/auth/token-signer.ts";

/** Longer than any run (a full bench run is under 10 minutes), short enough to be a real access token. */
export const TOKEN_TTL_S = 3600;
/** admin@storefront.test in the users service's seed (apps/users/src/db/migrations/002_seed_users.sql). */
export const ADMIN_USER_ID = 6;

export type TokenMint = {
  /** The public half of the signing key, as the users service publishes it in its JWKS. */
  publicJwk: PublicJwk;
  /** A customer token for user `id` (`sub` = the id). The same string on every call: the apps cache it once verified. */
  user(id: number): Promise<string>;
  /** Tokens of users 1..count, in order. */
  users(count: number): Promise<string[]>;
  /** An admin token (the seeded admin's id, role admin): stock and price changes. */
  admin(): Promise<string>;
};

export async function createTokenMint(privatePem: string): Promise<TokenMint> {
  const key = await loadSigningKey(privatePem);
  const signer = createTokenSigner(key);
  const minted = new Map<string, Promise<string>>();
  const mint = (sub: string, role: "customer" | "admin") => {
    const id = `${role}:${sub}`;
    let token = minted.get(id);
    if (!token) minted.set(id, (token = signer.sign({ sub, role }, TOKEN_TTL_S)));
    return token;
  };
  return {
    publicJwk: key.publicJwk,
    user: (id) => mint(String(id), "customer"),
    users: (count) => Promise.all(Array.from({ length: count }, (_, i) => mint(String(i + 1), "customer"))),
    admin: () => mint(String(ADMIN_USER_ID), "admin"),
  };
}

/** `authorization: Bearer <token>`, in wrk's and fixed-rate.ts's "name: value" form. */
export const bearerHeader = (token: string) => `authorization: Bearer ${token}`;

/** The same as a fetch headers object. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
