import { beforeAll, describe, expect, test } from "bun:test";
import { exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import { createTokenSigner } from "./token-signer.ts";
import { generateKeyPairPem, loadPublicKeys, loadSigningKey } from "./keys.ts";
import { localKeys } from "./remote-keys.ts";
import { createTokenVerifier } from "./token-verifier.ts";

let pair: { privatePem: string; publicPem: string };
let other: { privatePem: string; publicPem: string };
let ec: { privatePem: string; publicPem: string };
let rsa: { privatePem: string; publicPem: string };
beforeAll(async () => {
  pair = await generateKeyPairPem();
  other = await generateKeyPairPem();
  const pemsOf = async ({ privateKey, publicKey }: { privateKey: CryptoKey; publicKey: CryptoKey }) => ({
    privatePem: await exportPKCS8(privateKey),
    publicPem: await exportSPKI(publicKey),
  });
  ec = await pemsOf(await generateKeyPair("ES256", { extractable: true }));
  rsa = await pemsOf(await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 }));
});

/** How an env file or a secret store carries a PEM on one line. */
const escaped = (pem: string) => pem.replace(/\n/g, "\\n");

async function loadError(load: Promise<unknown>): Promise<Error> {
  const error = await load.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe("loadSigningKey", () => {
  test("loads an Ed25519 PKCS#8 PEM: its tokens verify with its public JWK", async () => {
    const key = await loadSigningKey(pair.privatePem);
    const token = await createTokenSigner(key).sign({ sub: "42", role: "customer" }, 60);
    const verifier = createTokenVerifier({ keys: await localKeys([key.publicJwk]) });
    expect(await verifier.verify(token)).toMatchObject({ sub: "42", userId: 42 });
  });

  test("an EC P-256 private key is refused with a message naming the variable and the key type wanted", async () => {
    const error = await loadError(loadSigningKey(ec.privatePem));
    expect(error.message).toStartWith("AUTH_PRIVATE_KEY is not an Ed25519 private key in PKCS#8 PEM: ");
  });

  test("an RSA private key is refused with the same message", async () => {
    const error = await loadError(loadSigningKey(rsa.privatePem));
    expect(error.message).toStartWith("AUTH_PRIVATE_KEY is not an Ed25519 private key in PKCS#8 PEM: ");
  });

  for (const [what, pem] of [
    ["garbage", "not a key at all"],
    ["an empty string", ""],
    ["a PEM with a broken body", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"],
  ] as const) {
    test(`${what} is refused with a clear message`, async () => {
      const error = await loadError(loadSigningKey(pem));
      expect(error.message).toStartWith("AUTH_PRIVATE_KEY is not an Ed25519 private key in PKCS#8 PEM: ");
    });
  }

  test("a public key where the private key belongs is refused", async () => {
    const error = await loadError(loadSigningKey(pair.publicPem));
    expect(error.message).toStartWith("AUTH_PRIVATE_KEY is not an Ed25519 private key");
  });

  test("the kid is stable: the same key loaded twice has the same kid, another key another kid", async () => {
    const first = await loadSigningKey(pair.privatePem);
    const again = await loadSigningKey(pair.privatePem);
    const different = await loadSigningKey(other.privatePem);
    expect(again.kid).toBe(first.kid);
    expect(different.kid).not.toBe(first.kid);
    expect(first.kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // a base64url SHA-256 thumbprint
  });

  test("a PEM whose newlines are written as \\n escapes (as env vars carry them) loads as the same key", async () => {
    const key = await loadSigningKey(escaped(pair.privatePem));
    expect(key.kid).toBe((await loadSigningKey(pair.privatePem)).kid);
  });

  test("the public JWK has no d, only the public Ed25519 members, and names its kid, alg and use", async () => {
    const { kid, publicJwk } = await loadSigningKey(pair.privatePem);
    expect(publicJwk).not.toHaveProperty("d");
    expect(Object.keys(publicJwk).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    expect(publicJwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid });
  });
});

describe("loadPublicKeys", () => {
  test("nothing configured: no keys", async () => {
    expect(await loadPublicKeys(undefined)).toEqual([]);
    expect(await loadPublicKeys("")).toEqual([]);
  });

  test("a value with no PEM block in it is refused, not read as no keys", async () => {
    expect(loadPublicKeys("MCowBQYDK2VwAyEA-not-pem")).rejects.toThrow("AUTH_RETIRED_PUBLIC_KEYS is set but holds no PEM block");
  });

  test("reads two concatenated SPKI blocks, each with the kid its private key signs with", async () => {
    const keys = await loadPublicKeys(`${pair.publicPem}\n${other.publicPem}`);
    expect(keys.map((k) => k.kid)).toEqual([(await loadSigningKey(pair.privatePem)).kid, (await loadSigningKey(other.privatePem)).kid]);
  });

  test("reads blocks written back to back without a newline between them", async () => {
    const keys = await loadPublicKeys(pair.publicPem.trim() + other.publicPem.trim());
    expect(keys).toHaveLength(2);
  });

  test("reads \\n-escaped blocks (as env vars carry them)", async () => {
    const keys = await loadPublicKeys(escaped(`${pair.publicPem}${other.publicPem}`));
    expect(keys).toHaveLength(2);
  });

  test("the public JWKs have no d", async () => {
    for (const jwk of await loadPublicKeys(`${pair.publicPem}${other.publicPem}`)) {
      expect(jwk).not.toHaveProperty("d");
      expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    }
  });

  test("a retired key's public JWK verifies the tokens that key signed", async () => {
    const retired = await loadSigningKey(other.privatePem);
    const token = await createTokenSigner(retired).sign({ sub: "7", role: "customer" }, 60);
    const verifier = createTokenVerifier({ keys: await localKeys(await loadPublicKeys(other.publicPem)) });
    expect((await verifier.verify(token)).userId).toBe(7);
  });

  test("an EC public key among them is refused with a message naming the variable", async () => {
    const error = await loadError(loadPublicKeys(`${pair.publicPem}${ec.publicPem}`));
    expect(error.message).toStartWith("AUTH_RETIRED_PUBLIC_KEYS holds a key that is not an Ed25519 public key in SPKI PEM: ");
  });

  test("an RSA public key is refused", async () => {
    const error = await loadError(loadPublicKeys(rsa.publicPem));
    expect(error.message).toStartWith("AUTH_RETIRED_PUBLIC_KEYS holds a key that is not an Ed25519 public key");
  });

  test("a private key where public keys belong is refused, not turned into a public key", async () => {
    const error = await loadError(loadPublicKeys(pair.privatePem));
    expect(error.message).toStartWith("AUTH_RETIRED_PUBLIC_KEYS holds a key that is not an Ed25519 public key");
  });
});
