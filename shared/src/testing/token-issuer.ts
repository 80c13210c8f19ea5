// Tokens for tests: a fresh Ed25519 key, a signer, and a verifier that trusts only it. Apps under test take
// `verifier`; processes under test take `privatePem` as the users service's AUTH_PRIVATE_KEY.
import type { Role } from "../auth/identity.ts";
import { generateKeyPairPem, loadSigningKey } from "../auth/keys.ts";
import { localKeys } from "../auth/remote-keys.ts";
import { createTokenSigner } from "../auth/token-signer.ts";
import { createTokenVerifier } from "../auth/token-verifier.ts";

export type TestIssuer = Awaited<ReturnType<typeof createTestIssuer>>;

export async function createTestIssuer(options: { now?: () => number } = {}) {
  const { privatePem, publicPem } = await generateKeyPairPem();
  const key = await loadSigningKey(privatePem);
  const signer = createTokenSigner(key, options.now);
  const keys = await localKeys([key.publicJwk]);
  const token = (sub: string | number, role: Role = "customer", ttlS = 900) => signer.sign({ sub: String(sub), role }, ttlS);
  return {
    privatePem,
    publicPem,
    key,
    jwks: { keys: [key.publicJwk] },
    keys,
    verifier: createTokenVerifier({ keys, now: options.now }),
    token,
    /** `{ authorization: "Bearer ..." }` for a user (or a service, with role "service"). */
    async auth(sub: string | number, role: Role = "customer") {
      return { authorization: `Bearer ${await token(sub, role)}` };
    },
  };
}
