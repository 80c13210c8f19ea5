// Signing keys: an Ed25519 key pair in PEM (PKCS#8 private, SPKI public), its public JWK and its `kid`
// (the RFC 7638 thumbprint, so the same key always has the same id and nobody has to invent one).
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, type JWK } from "jose";
import { TOKEN_ALGORITHM } from "./identity.ts";

export type PublicJwk = JWK & { kid: string; alg: string; use: "sig" };
export type SigningKey = { kid: string; privateKey: CryptoKey; publicJwk: PublicJwk };

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** Environment variables often carry PEM with "\n" escapes instead of line breaks. */
const unescape = (pem: string) => pem.replace(/\\n/g, "\n").trim();

async function publicJwkOf(publicKey: CryptoKey): Promise<PublicJwk> {
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: TOKEN_ALGORITHM, use: "sig" };
}

/** The private key from AUTH_PRIVATE_KEY (PKCS#8 PEM, Ed25519). A malformed or other key type throws. */
export async function loadSigningKey(privatePem: string): Promise<SigningKey> {
  const privateKey = await importPKCS8(unescape(privatePem), TOKEN_ALGORITHM, { extractable: true }).catch((err) => {
    throw new Error(`AUTH_PRIVATE_KEY is not an Ed25519 private key in PKCS#8 PEM: ${(err as Error).message}`);
  });
  // The public half of an Ed25519 key is in its JWK ("x"); drop "d" to get it.
  const { d: _private, ...publicPart } = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart);
  return { kid, privateKey, publicJwk: { ...publicPart, kid, alg: TOKEN_ALGORITHM, use: "sig" } };
}

/** Public keys still accepted during a rotation (AUTH_RETIRED_PUBLIC_KEYS: one or more SPKI PEM blocks). */
export async function loadPublicKeys(pems: string | undefined): Promise<PublicJwk[]> {
  const text = unescape(pems ?? "");
  const blocks = text.match(PEM_BLOCK) ?? [];
  // A mistyped value must not pass for "no retired keys": tokens of the retired key would stop working unannounced.
  if (text !== "" && blocks.length === 0) throw new Error("AUTH_RETIRED_PUBLIC_KEYS is set but holds no PEM block");
  return Promise.all(
    blocks.map((pem) =>
      importSPKI(pem, TOKEN_ALGORITHM, { extractable: true }).then(publicJwkOf, (err) => {
        throw new Error(`AUTH_RETIRED_PUBLIC_KEYS holds a key that is not an Ed25519 public key in SPKI PEM: ${(err as Error).message}`);
      }),
    ),
  );
}

/** A new key pair as PEM: what `bun run dev` keeps under .data/ and what tests sign with. */
export async function generateKeyPairPem(): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: "Ed25519", extractable: true });
  return { privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) };
}
