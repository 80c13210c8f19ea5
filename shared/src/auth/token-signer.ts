// Issues access tokens: a JWT signed with the current key, `kid` in its header, the claims every verifier checks.
import { SignJWT } from "jose";
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, type Role } from "./identity.ts";
import type { SigningKey } from "./keys.ts";

export type TokenSigner = {
  readonly kid: string;
  /** A signed token for `sub` with `role`, valid for `ttlS` seconds from now. */
  sign(claims: { sub: string; role: Role }, ttlS: number): Promise<string>;
};

export function createTokenSigner(key: SigningKey, now: () => number = Date.now): TokenSigner {
  return {
    kid: key.kid,
    sign({ sub, role }, ttlS) {
      const iat = Math.floor(now() / 1000);
      return new SignJWT({ role })
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: "JWT" })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(sub)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + ttlS)
        .setJti(crypto.randomUUID())
        .sign(key.privateKey);
    },
  };
}
