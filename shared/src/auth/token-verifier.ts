// Verifies access tokens locally, with public keys only: the algorithm pinned to EdDSA, `kid` required and
// known, `iss`, `aud`, `exp`, `nbf` checked. No call per request: keys come from a KeySource (remote-keys.ts).
// The JWS check is hono's (hono/utils/jwt, already loaded by every app; jose, which the users service signs
// with, would add 1.4 MB to each app); the times are checked here, on the injected clock, with a tolerance.
import { decodeHeader, verify } from "hono/utils/jwt/jwt";
import {
  JwtAlgorithmMismatch,
  JwtHeaderInvalid,
  JwtPayloadRequiresAud,
  JwtTokenAudience,
  JwtTokenInvalid,
  JwtTokenIssuer,
  JwtTokenSignatureMismatched,
} from "hono/utils/jwt/types";
import { ROLES, TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, type Identity, type Role } from "./identity.ts";

/** The token is not one we accept (401). The message says why, for the caller and the log. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The keys could not be had (the users service does not answer and nothing is cached): 503, not the caller's fault. */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
}

export type KeySource = {
  /** The public key with this id; undefined when no such key is published. Throws KeysUnavailableError. */
  key(kid: string): Promise<CryptoKey | undefined>;
};

export type TokenVerifier = { verify(token: string): Promise<Identity> };

const USER_ID = /^[1-9][0-9]{0,9}$/;

/** hono's errors, in words a client can act on. */
function reason(err: unknown): string {
  if (err instanceof JwtAlgorithmMismatch) return `only ${TOKEN_ALGORITHM} tokens are accepted`;
  if (err instanceof JwtTokenSignatureMismatched) return "the token's signature does not verify";
  if (err instanceof JwtTokenIssuer) return "the token's iss claim is not accepted";
  if (err instanceof JwtPayloadRequiresAud) return "the token has no aud claim";
  if (err instanceof JwtTokenAudience) return "the token's aud claim is not accepted";
  if (err instanceof JwtTokenInvalid || err instanceof JwtHeaderInvalid) return "the token is malformed";
  return "the token is not valid";
}

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** The header, read before anything is trusted: which algorithm and which key the token claims. */
function headerOf(token: string): { alg?: unknown; kid?: unknown } {
  try {
    const header = decodeHeader(token) as unknown;
    if (typeof header === "object" && header !== null) return header as { alg?: unknown; kid?: unknown };
  } catch {}
  throw new InvalidTokenError("the token is malformed");
}

export const DEFAULT_VERIFIED_CACHE_SIZE = 10_000;

/**
 * `cacheSize`: tokens already verified are remembered (by their exact bytes) until they expire, so a client's
 * next request costs a map lookup instead of an Ed25519 verification (about 90 us here). 0 turns it off.
 * A cached token stays accepted until its `exp` even if its key is retired meanwhile: at most its lifetime.
 */
export function createTokenVerifier(options: { keys: KeySource; now?: () => number; clockToleranceS?: number; cacheSize?: number }): TokenVerifier {
  const { keys, now = Date.now, clockToleranceS = 5, cacheSize = DEFAULT_VERIFIED_CACHE_SIZE } = options;
  const verified = new Map<string, { identity: Identity; acceptedUntil: number }>();

  const remember = (token: string, identity: Identity, expS: number) => {
    if (cacheSize <= 0) return;
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!); // the oldest first
    verified.set(token, { identity, acceptedUntil: (expS + clockToleranceS) * 1000 });
  };

  return {
    async verify(token) {
      const cached = verified.get(token);
      if (cached) {
        if (now() <= cached.acceptedUntil) return cached.identity;
        verified.delete(token); // expired: verified again below, which says so
      }
      const header = headerOf(token);
      if (header.alg !== TOKEN_ALGORITHM) throw new InvalidTokenError(`only ${TOKEN_ALGORITHM} tokens are accepted`);
      if (typeof header.kid !== "string" || header.kid === "") throw new InvalidTokenError("the token has no kid");
      const key = await keys.key(header.kid);
      if (!key) throw new InvalidTokenError(`the token's key ${header.kid} is not one of ours`);
      let payload: Record<string, unknown>;
      try {
        // Times are ours to check (below), on the injected clock and with the tolerance.
        payload = (await verify(token, key, { alg: TOKEN_ALGORITHM, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, exp: false, nbf: false, iat: false })) as Record<string, unknown>;
      } catch (err) {
        throw new InvalidTokenError(reason(err), { cause: err });
      }
      for (const claim of ["sub", "exp", "nbf", "iat"]) {
        if (payload[claim] === undefined) throw new InvalidTokenError(`the token has no ${claim} claim`);
      }
      const { exp, nbf, iat } = payload;
      if (!isTime(exp) || !isTime(nbf) || !isTime(iat)) throw new InvalidTokenError("the token's times are not numbers");
      const nowS = Math.floor(now() / 1000);
      if (exp <= nowS - clockToleranceS) throw new InvalidTokenError("the token has expired");
      if (nbf > nowS + clockToleranceS) throw new InvalidTokenError("the token's nbf claim is not accepted");
      const { sub, role } = payload;
      if (typeof sub !== "string" || sub === "") throw new InvalidTokenError("the token has no subject");
      if (!ROLES.includes(role as Role)) throw new InvalidTokenError("the token's role is not one we know");
      const userId = role !== "service" && USER_ID.test(sub) ? Number(sub) : null;
      if (role !== "service" && userId === null) throw new InvalidTokenError("the token's subject is not a user id");
      const identity: Identity = { sub, role: role as Role, userId, token };
      remember(token, identity, exp);
      return identity;
    },
  };
}
