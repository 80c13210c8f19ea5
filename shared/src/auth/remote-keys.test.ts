import { beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { createTestIssuer, type TestIssuer } from "../testing/token-issuer.ts";
import { createUpstreamClient, type FetchFn } from "../upstream/client.ts";
import { createRemoteKeys, JWKS_PATH, type RemoteKeysOptions } from "./remote-keys.ts";
import { createTokenVerifier, InvalidTokenError, KeysUnavailableError } from "./token-verifier.ts";

// A fake users service behind an injected fetch: it serves whatever JWKS the test publishes, or is down,
// and counts the calls, because how often users is asked is the behaviour under test here.
function fakeUsers(initial: JWK[] = []) {
  const state = {
    keys: initial,
    down: false as false | "refused" | "503",
    calls: 0,
    /** When set, every answer waits for it: a users service that is slow to answer. */
    gate: null as Promise<void> | null,
  };
  const fetch: FetchFn = async (input) => {
    state.calls++;
    expect(String(input)).toBe(`http://users.test${JWKS_PATH}`);
    if (state.gate) await state.gate;
    if (state.down === "refused") throw new TypeError("fetch failed: connection refused");
    if (state.down === "503") return new Response("unavailable", { status: 503 });
    return Response.json({ keys: state.keys });
  };
  return { state, users: createUpstreamClient("users", "http://users.test", { fetch, retry: null }) };
}

const MAX_AGE = 60_000;
const COOL_DOWN = 10_000;

/** Remote keys on a fake clock, with every failed background refresh kept for the test to look at. */
function remoteKeys(users: RemoteKeysOptions["users"], extra: Partial<RemoteKeysOptions> = {}) {
  const clock = { time: 1_000_000 };
  const refreshErrors: unknown[] = [];
  let refreshFailed: () => void = () => {};
  const nextRefreshError = () => new Promise<void>((resolve) => (refreshFailed = resolve));
  const keys = createRemoteKeys({
    users,
    maxAgeMs: MAX_AGE,
    minRefetchMs: COOL_DOWN,
    now: () => clock.time,
    onRefreshError: (error) => {
      refreshErrors.push(error);
      refreshFailed();
    },
    ...extra,
  });
  return { keys, clock, refreshErrors, nextRefreshError };
}

/** Lets a refresh started in the background finish (its fetch answers at once). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

let current: TestIssuer;
let next: TestIssuer;
beforeAll(async () => {
  current = await createTestIssuer();
  next = await createTestIssuer();
});

describe("keys are fetched once and answered from memory", () => {
  test("the first use fetches the JWKS and finds the key", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys } = remoteKeys(users);
    expect(await keys.key(current.key.kid)).toBeDefined();
    expect(state.calls).toBe(1);
  });

  test("a known kid is answered from memory: no second fetch", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    const first = await keys.key(current.key.kid);
    clock.time += MAX_AGE; // old, but not older than maxAgeMs
    expect(await keys.key(current.key.kid)).toBe(first!);
    expect(state.calls).toBe(1);
  });

  test("concurrent first uses share one fetch", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    const { keys } = remoteKeys(users);
    const lookups = Promise.all([1, 2, 3, 4, 5].map(() => keys.key(current.key.kid)));
    open();
    const found = await lookups;
    expect(found.every((k) => k !== undefined && k === found[0])).toBe(true);
    expect(state.calls).toBe(1);
  });

  test("a token from the published key verifies through the remote keys", async () => {
    const { users } = fakeUsers([current.key.publicJwk]);
    const verifier = createTokenVerifier({ keys: remoteKeys(users).keys, cacheSize: 0 });
    expect(await verifier.verify(await current.token(42))).toMatchObject({ sub: "42", userId: 42 });
  });
});

describe("rotation: an unknown kid refetches, a retired key is dropped", () => {
  test("an unknown kid refetches once and finds the key just rotated in; old and new keys both verify", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    const verifier = createTokenVerifier({ keys, cacheSize: 0 }); // every call goes to the keys
    await verifier.verify(await current.token(1));

    clock.time += COOL_DOWN; // the rotation happens a while after the first load
    state.keys = [next.key.publicJwk, current.key.publicJwk];
    expect(await verifier.verify(await next.token(2))).toMatchObject({ userId: 2 });
    expect(state.calls).toBe(2);

    expect(await verifier.verify(await current.token(1))).toMatchObject({ userId: 1 });
    expect(await verifier.verify(await next.token(2))).toMatchObject({ userId: 2 });
    expect(state.calls).toBe(2);
  });

  test("a key retired from the JWKS is refused once the copy is refreshed", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk, next.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    const verifier = createTokenVerifier({ keys, cacheSize: 0 }); // every call goes to the keys
    const oldToken = await current.token(1);
    await verifier.verify(oldToken);

    state.keys = [next.key.publicJwk];
    clock.time += MAX_AGE + 1;
    await verifier.verify(oldToken); // still answered from the old copy, while the refresh runs
    await settle();
    expect(state.calls).toBe(2);

    const error = await verifier.verify(oldToken).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error.message).toBe(`the token's key ${current.key.kid} is not one of ours`);
    expect(await verifier.verify(await next.token(2))).toMatchObject({ userId: 2 });
  });

  test("a key retired from the JWKS is refused after an unknown kid's refetch", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    expect(await keys.key(current.key.kid)).toBeDefined();

    clock.time += COOL_DOWN;
    state.keys = [next.key.publicJwk];
    expect(await keys.key(next.key.kid)).toBeDefined();
    expect(await keys.key(current.key.kid)).toBeUndefined();
    expect(state.calls).toBe(2);
  });
});

describe("made-up kids cannot hammer users: one refetch per minRefetchMs", () => {
  test("unknown kids within minRefetchMs of the last fetch answer undefined without a fetch", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    await keys.key(current.key.kid);

    clock.time += COOL_DOWN - 1;
    for (let i = 0; i < 20; i++) expect(await keys.key(`made-up-${i}`)).toBeUndefined();
    expect(state.calls).toBe(1);
  });

  test("once minRefetchMs has passed an unknown kid refetches again, and starts a new cool-down", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    await keys.key(current.key.kid);

    clock.time += COOL_DOWN;
    expect(await keys.key("made-up-1")).toBeUndefined();
    expect(state.calls).toBe(2);
    expect(await keys.key("made-up-2")).toBeUndefined();
    expect(state.calls).toBe(2);
  });

  test("a key rotated in during the cool-down is found once it ends", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    await keys.key(current.key.kid);

    state.keys = [current.key.publicJwk, next.key.publicJwk];
    clock.time += 1;
    expect(await keys.key(next.key.kid)).toBeUndefined();
    clock.time += COOL_DOWN;
    expect(await keys.key(next.key.kid)).toBeDefined();
    expect(state.calls).toBe(2);
  });
});

describe("a stale copy is refreshed in the background", () => {
  test("a copy older than maxAgeMs answers at once with the old key while the refresh runs", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    const old = await keys.key(current.key.kid);

    let open!: () => void;
    state.gate = new Promise((resolve) => (open = resolve));
    state.keys = [current.key.publicJwk, next.key.publicJwk];
    clock.time += MAX_AGE + 1;
    expect(await keys.key(current.key.kid)).toBe(old!); // answered although users has not answered yet
    expect(await keys.key(current.key.kid)).toBe(old!);
    expect(state.calls).toBe(2); // one refresh, however many lookups meanwhile

    open();
    await settle();
    state.gate = null;
    expect(await keys.key(next.key.kid)).toBeDefined(); // from the refreshed copy, without another fetch
    expect(state.calls).toBe(2);
  });
});

describe("users down", () => {
  for (const down of ["refused", "503"] as const) {
    test(`before any load (${down}): KeysUnavailableError, saying why`, async () => {
      const { state, users } = fakeUsers([current.key.publicJwk]);
      state.down = down;
      const { keys } = remoteKeys(users);
      const error = await keys.key(current.key.kid).catch((e) => e);
      expect(error).toBeInstanceOf(KeysUnavailableError);
      expect(error.message).toMatch(/^the users service's keys could not be fetched: /);
    });
  }

  test("before any load, the verifier passes KeysUnavailableError on (a 503, not a 401)", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    state.down = "refused";
    const verifier = createTokenVerifier({ keys: remoteKeys(users).keys, cacheSize: 0 });
    expect(await verifier.verify(await current.token(1)).catch((e) => e)).toBeInstanceOf(KeysUnavailableError);
  });

  test("refresh() says so with KeysUnavailableError, and works once users is back", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    state.down = "503";
    const { keys } = remoteKeys(users);
    expect(await keys.refresh().catch((e) => e)).toBeInstanceOf(KeysUnavailableError);
    state.down = false;
    await keys.refresh();
    expect(await keys.key(current.key.kid)).toBeDefined();
  });

  test("after a load: the cached keys keep working and onRefreshError is told", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock, refreshErrors, nextRefreshError } = remoteKeys(users);
    const verifier = createTokenVerifier({ keys, cacheSize: 0 }); // every call goes to the keys
    await verifier.verify(await current.token(1));

    state.down = "refused";
    clock.time += MAX_AGE + 1;
    const told = nextRefreshError();
    expect(await verifier.verify(await current.token(1))).toMatchObject({ userId: 1 });
    await told;
    expect(refreshErrors).toHaveLength(1);
    expect(state.calls).toBe(2);

    clock.time += 10 * MAX_AGE; // a long outage: the old copy still serves
    const toldAgain = nextRefreshError();
    expect(await verifier.verify(await current.token(1))).toMatchObject({ userId: 1 });
    await toldAgain;
    expect(refreshErrors).toHaveLength(2);
  });

  test("after a load: a failed refresh is not retried on every request, only once per minRefetchMs", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock, refreshErrors } = remoteKeys(users);
    await keys.key(current.key.kid);

    state.down = "refused";
    clock.time += MAX_AGE + 1;
    for (let i = 0; i < 10; i++) {
      expect(await keys.key(current.key.kid)).toBeDefined();
      await settle();
    }
    expect(state.calls).toBe(2);
    expect(refreshErrors).toHaveLength(1);

    clock.time += COOL_DOWN;
    expect(await keys.key(current.key.kid)).toBeDefined();
    await settle();
    expect(state.calls).toBe(3);
  });

  test("after a load: an unknown kid that cannot be looked up is KeysUnavailableError (it may be a key just rotated in)", async () => {
    const { state, users } = fakeUsers([current.key.publicJwk]);
    const { keys, clock } = remoteKeys(users);
    await keys.key(current.key.kid);

    state.down = "refused";
    clock.time += COOL_DOWN;
    expect(await keys.key(next.key.kid).catch((e) => e)).toBeInstanceOf(KeysUnavailableError);
    expect(await keys.key(current.key.kid)).toBeDefined();
  });

  test("a JWKS body without a keys array is KeysUnavailableError, not an empty set of keys", async () => {
    const fetch: FetchFn = async () => Response.json({ not: "a jwks" });
    const { keys } = remoteKeys(createUpstreamClient("users", "http://users.test", { fetch, retry: null }));
    const error = await keys.key(current.key.kid).catch((e) => e);
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(error.message).toContain("the JWKS has no keys array");
  });
});

describe("only Ed25519 public signing keys are taken from the JWKS", () => {
  test("an EC key, an RSA key, a private key (d) and a key for another alg are ignored; the good key still works", async () => {
    const ec = await generateKeyPair("ES256", { extractable: true });
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const edPrivate = await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).privateKey);
    const published: JWK[] = [
      { ...(await exportJWK(ec.publicKey)), kid: "ec", alg: "ES256", use: "sig" },
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa", alg: "RS256", use: "sig" },
      { ...edPrivate, kid: "private", alg: "EdDSA", use: "sig" },
      { ...next.key.publicJwk, kid: "other-alg", alg: "ES256" },
      { ...next.key.publicJwk, kid: undefined } as JWK,
      current.key.publicJwk,
    ];
    const { state, users } = fakeUsers(published);
    const { keys } = remoteKeys(users);
    expect(await keys.key(current.key.kid)).toBeDefined();
    for (const kid of ["ec", "rsa", "private", "other-alg"]) expect(await keys.key(kid)).toBeUndefined();
    expect(state.calls).toBe(1);
  });

  test("a key published with its private part is not trusted: its tokens are refused", async () => {
    const { users } = fakeUsers([{ ...(await exportJWK(next.key.privateKey)), kid: next.key.kid, alg: "EdDSA", use: "sig" }, current.key.publicJwk]);
    const verifier = createTokenVerifier({ keys: remoteKeys(users).keys, cacheSize: 0 });
    expect(await verifier.verify(await next.token(1)).catch((e) => e)).toBeInstanceOf(InvalidTokenError);
  });

  test("a malformed Ed25519 key is ignored instead of making the whole set unusable", async () => {
    const { users } = fakeUsers([{ ...next.key.publicJwk, kid: "broken", x: "AAAA" }, current.key.publicJwk]);
    const { keys } = remoteKeys(users);
    expect(await keys.key(current.key.kid)).toBeDefined();
    expect(await keys.key("broken")).toBeUndefined();
  });
});
