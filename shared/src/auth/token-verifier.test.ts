import { beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { base64url, SignJWT, type JWTPayload } from "jose";
import { createTestIssuer, type TestIssuer } from "../testing/token-issuer.ts";
import { TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER } from "./identity.ts";
import { createTokenVerifier, InvalidTokenError } from "./token-verifier.ts";

// One fake clock for the issuer and its verifier, back at T0 before each test.
const T0 = Date.parse("2026-11-22T12:00:00Z");
let time = T0;
beforeEach(() => {
  time = T0;
});
const now = () => time;
const atS = (seconds: number) => T0 + seconds * 1000;

let issuer: TestIssuer;
let stranger: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ now });
  stranger = await createTestIssuer({ now });
});

const json = (value: unknown) => base64url.encode(JSON.stringify(value));
const seconds = () => Math.floor(time / 1000);

/** The claims a real token carries; `overrides` replace or (with undefined) remove some. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = seconds();
  const all: Record<string, unknown> = { iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, sub: "42", role: "customer", iat, nbf: iat, exp: iat + 900, ...overrides };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as JWTPayload;
}

/** A token signed with our key (unless `key` says otherwise) with whatever header and claims a test needs. */
function signed(overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = issuer.key.privateKey) {
  return new SignJWT(claims(overrides)).setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: issuer.key.kid, typ: "JWT", ...header }).sign(key);
}

async function rejection(token: string, verifier = issuer.verifier): Promise<InvalidTokenError> {
  const error = await verifier.verify(token).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  const message = (error as InvalidTokenError).message;
  // Words a client can act on, not jose's internals ("JWS Protected Header is invalid").
  expect(message).toMatch(/^(the token|only EdDSA tokens)/);
  expect(message).not.toMatch(/JWS|JWT|Header Parameter|undefined|\[object/);
  return error as InvalidTokenError;
}

describe("a token from our key is accepted", () => {
  test("a customer's token gives its sub, role, numeric user id and the token itself", async () => {
    const token = await issuer.token(42);
    expect(await issuer.verifier.verify(token)).toEqual({ sub: "42", role: "customer", userId: 42, token });
  });

  test("an admin's token carries the admin's user id", async () => {
    const identity = await issuer.verifier.verify(await issuer.token(7, "admin"));
    expect(identity).toMatchObject({ sub: "7", role: "admin", userId: 7 });
  });

  test("a service token (role service, sub notifications) is accepted with userId null", async () => {
    const token = await issuer.token("notifications", "service");
    expect(await issuer.verifier.verify(token)).toEqual({ sub: "notifications", role: "service", userId: null, token });
  });

  test("a service token whose sub looks like a number still has no user id", async () => {
    expect((await issuer.verifier.verify(await issuer.token(42, "service"))).userId).toBeNull();
  });
});

describe("the algorithm is pinned to EdDSA", () => {
  test('alg "none" with an empty signature is refused', async () => {
    const token = `${json({ alg: "none", kid: issuer.key.kid, typ: "JWT" })}.${json(claims())}.`;
    expect((await rejection(token)).message).toBe(`only ${TOKEN_ALGORITHM} tokens are accepted`);
  });

  test('alg "none" without a kid is refused all the same', async () => {
    await rejection(`${json({ alg: "none" })}.${json(claims())}.`);
  });

  test("HS256 keyed with the public key's SPKI PEM (algorithm confusion) is refused", async () => {
    const token = await signed({}, { alg: "HS256" }, new TextEncoder().encode(issuer.publicPem));
    expect((await rejection(token)).message).toBe(`only ${TOKEN_ALGORITHM} tokens are accepted`);
  });

  test("HS256 keyed with the public JWK's raw x bytes (algorithm confusion) is refused", async () => {
    const token = await signed({}, { alg: "HS256" }, base64url.decode(issuer.key.publicJwk.x!));
    expect((await rejection(token)).message).toBe(`only ${TOKEN_ALGORITHM} tokens are accepted`);
  });
});

describe("the key must be one of ours, named by kid", () => {
  test("an unknown kid is refused and the message names it", async () => {
    const error = await rejection(await signed({}, { kid: "not-a-key-of-ours" }));
    expect(error.message).toBe("the token's key not-a-key-of-ours is not one of ours");
  });

  test("a token with no kid is refused", async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: TOKEN_ALGORITHM }).sign(issuer.key.privateKey);
    expect((await rejection(token)).message).toBe("the token has no kid");
  });

  test("a token signed by another key under our kid is refused: the signature does not verify", async () => {
    const token = await signed({}, {}, stranger.key.privateKey);
    expect((await rejection(token)).message).toBe("the token's signature does not verify");
  });

  test("a token whose payload was swapped for another sub, signature kept, is refused", async () => {
    const [header, , signature] = (await issuer.token(42)).split(".");
    const forged = `${header}.${json(claims({ sub: "1", role: "admin" }))}.${signature}`;
    expect((await rejection(forged)).message).toBe("the token's signature does not verify");
  });

  test("a token whose signature was cut off is refused", async () => {
    const [header, payload] = (await issuer.token(42)).split(".");
    await rejection(`${header}.${payload}.`);
  });
});

describe("issuer, audience and time are checked", () => {
  test("a wrong iss is refused, naming the claim", async () => {
    expect((await rejection(await signed({ iss: "someone-else" }))).message).toContain("iss");
  });

  test("a wrong aud is refused, naming the claim", async () => {
    expect((await rejection(await signed({ aud: "another-audience" }))).message).toContain("aud");
  });

  test("a token expired beyond the 5 s tolerance is refused as expired", async () => {
    const token = await issuer.token(42, "customer", 60);
    time = atS(65);
    expect((await rejection(token)).message).toBe("the token has expired");
  });

  test("a token expired by less than the tolerance is still accepted (clock skew)", async () => {
    const token = await issuer.token(42, "customer", 60);
    time = atS(64);
    expect((await issuer.verifier.verify(token)).sub).toBe("42");
  });

  test("an nbf further in the future than the tolerance is refused, naming the claim", async () => {
    time = atS(10);
    const token = await issuer.token(42);
    time = T0;
    expect((await rejection(token)).message).toContain("nbf");
  });

  test("an nbf within the tolerance is accepted (clock skew)", async () => {
    time = atS(5);
    const token = await issuer.token(42);
    time = T0;
    expect((await issuer.verifier.verify(token)).sub).toBe("42");
  });

  test("a token without exp is refused", async () => {
    await rejection(await signed({ exp: undefined }));
  });

  test("a token without nbf is refused", async () => {
    await rejection(await signed({ nbf: undefined }));
  });

  test("the tolerance is the verifier's to set: with 0 s, one second past exp is expired", async () => {
    const token = await issuer.token(42, "customer", 60);
    time = atS(60);
    const strict = createTokenVerifier({ keys: issuer.keys, now, clockToleranceS: 0 });
    expect((await rejection(token, strict)).message).toBe("the token has expired");
  });
});

describe("the claims must describe a caller we know", () => {
  test("a token with no sub is refused", async () => {
    await rejection(await signed({ sub: undefined }));
  });

  test("a token with an empty sub is refused", async () => {
    expect((await rejection(await signed({ sub: "" }))).message).toBe("the token has no subject");
  });

  test("an unknown role is refused", async () => {
    expect((await rejection(await signed({ role: "superuser" }))).message).toBe("the token's role is not one we know");
  });

  test("a token with no role is refused", async () => {
    expect((await rejection(await signed({ role: undefined }))).message).toBe("the token's role is not one we know");
  });

  test("a role that is not a string (a list of roles) is refused", async () => {
    await rejection(await signed({ role: ["admin"] }));
  });

  for (const sub of ["notifications", "007", "0", "-1", "1.5", "1e3", " 42", "42 ", "12345678901"]) {
    test(`a customer token whose sub is not a user id (${JSON.stringify(sub)}) is refused`, async () => {
      expect((await rejection(await signed({ sub }))).message).toBe("the token's subject is not a user id");
    });
  }

  test("an admin token whose sub is not a user id is refused", async () => {
    await rejection(await signed({ sub: "root", role: "admin" }));
  });
});

describe("whatever the string, a malformed token is an InvalidTokenError, never another error", () => {
  const garbage = ["", "garbage", "a.b", "a.b.c", "a.b.c.d", "...", "eyJ.eyJ.sig", "Bearer x.y.z", "\u0000.\u0000.\u0000", "é.é.é"];
  for (const token of garbage) {
    test(`${JSON.stringify(token)} is refused`, async () => {
      await rejection(token);
    });
  }

  test("a header that is JSON but not an object is refused", async () => {
    await rejection(`${json(["EdDSA"])}.${json(claims())}.c2ln`);
  });

  test("a payload that is not JSON, under a valid signature, is refused", async () => {
    const [header, payload, signature] = (await issuer.token(42)).split(".");
    await rejection(`${header}.${payload!.slice(0, -3)}.${signature}`);
  });

  test("a kid that is not a string is refused", async () => {
    await rejection(await signed({}, { kid: 12345 }));
  });
});

describe("verified tokens are remembered until they expire", () => {
  const counting = () => {
    let lookups = 0;
    const keys = { key: async (kid: string) => (lookups++, issuer.keys.key(kid)) };
    return { keys, lookups: () => lookups };
  };

  test("the same token again is answered without looking up a key or verifying", async () => {
    const source = counting();
    const verifier = createTokenVerifier({ keys: source.keys, now });
    const token = await signed();
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toEqual(first);
    expect(source.lookups()).toBe(1);
  });

  test("a remembered token is refused once it expires (beyond the tolerance), like any other", async () => {
    const verifier = createTokenVerifier({ keys: issuer.keys, now });
    const token = await signed();
    await verifier.verify(token);
    time += 900_000 + 5_000;
    expect((await verifier.verify(token)).sub).toBe("42"); // exactly at exp + tolerance: still accepted
    time += 1_000;
    expect((await rejection(token, verifier)).message).toBe("the token has expired");
  });

  test("a changed token is not the remembered one: its bytes differ, so it is verified and refused", async () => {
    const verifier = createTokenVerifier({ keys: issuer.keys, now });
    const token = await signed();
    await verifier.verify(token);
    const [header, , signature] = token.split(".");
    await rejection(`${header}.${json(claims({ sub: "1" }))}.${signature}`, verifier);
  });

  test("the cache is bounded: the oldest entry goes first; cacheSize 0 keeps nothing", async () => {
    const source = counting();
    const verifier = createTokenVerifier({ keys: source.keys, now, cacheSize: 2 });
    const [a, b, c] = [await signed({ sub: "1" }), await signed({ sub: "2" }), await signed({ sub: "3" })];
    for (const token of [a, b, c]) await verifier.verify(token);
    await verifier.verify(c);
    await verifier.verify(b);
    expect(source.lookups()).toBe(3);
    await verifier.verify(a); // evicted by c
    expect(source.lookups()).toBe(4);

    const none = counting();
    const uncached = createTokenVerifier({ keys: none.keys, now, cacheSize: 0 });
    await uncached.verify(a);
    await uncached.verify(a);
    expect(none.lookups()).toBe(2);
  });
});
