// Verifies access tokens locally, with public keys only: the algorithm pinned to EdDSA, `kid` required and
// known, `iss`, `aud`, `exp`, `nbf` checked. No call per request: keys come from a KeySource (remote-keys.ts).
import { errors, jwtVerify } from "jose";
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

/** jose's errors, in words a client can act on. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "the token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    return err.reason === "missing" ? `the token has no ${err.claim} claim` : `the token's ${err.claim} claim is not accepted`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return `only ${TOKEN_ALGORITHM} tokens are accepted`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return "the token is malformed";
  return "the token is not valid";
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
      let payload;
      try {
        ({ payload } = await jwtVerify(
          token,
          async (header) => {
            if (!header.kid) throw new InvalidTokenError("the token has no kid");
            const key = await keys.key(header.kid);
            if (!key) throw new InvalidTokenError(`the token's key ${header.kid} is not one of ours`);
            return key;
          },
          {
            algorithms: [TOKEN_ALGORITHM],
            issuer: TOKEN_ISSUER,
            audience: TOKEN_AUDIENCE,
            requiredClaims: ["sub", "exp", "nbf", "iat"],
            currentDate: new Date(now()),
            clockTolerance: clockToleranceS,
          },
        ));
      } catch (err) {
        if (err instanceof InvalidTokenError || err instanceof KeysUnavailableError) throw err;
        if (err instanceof errors.JOSEError) throw new InvalidTokenError(reason(err), { cause: err });
        throw err;
      }
      const { sub, role } = payload;
      if (typeof sub !== "string" || sub === "") throw new InvalidTokenError("the token has no subject");
      if (!ROLES.includes(role as Role)) throw new InvalidTokenError("the token's role is not one we know");
      const userId = role !== "service" && USER_ID.test(sub) ? Number(sub) : null;
      if (role !== "service" && userId === null) throw new InvalidTokenError("the token's subject is not a user id");
      const identity: Identity = { sub, role: role as Role, userId, token };
      remember(token, identity, payload.exp!);
      return identity;
    },
  };
}
