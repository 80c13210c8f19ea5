// The users service's public keys (its JWKS), fetched through the shared upstream client and cached: a known
// key is answered from memory; an unknown `kid` refetches (a key was just rotated in), at most once per
// `minRefetchMs` so made-up kids cannot hammer users; a copy older than `maxAgeMs` is refreshed in the
// background and kept while users is away, so a users outage does not lock everyone out.
import type { JWK } from "jose"; // the type only: the apps that verify load nothing of jose
import type { UpstreamClient } from "../upstream/client.ts";
import { UpstreamInvalidResponseError } from "../upstream/errors.ts";
import { TOKEN_ALGORITHM } from "./identity.ts";
import { KeysUnavailableError, type KeySource } from "./token-verifier.ts";

export const JWKS_PATH = "/.well-known/jwks.json";

export type RemoteKeysOptions = {
  /** A client of the users service. */
  users: UpstreamClient;
  deadlineMs?: number;
  maxAgeMs?: number;
  minRefetchMs?: number;
  now?: () => number;
  /** Told when a refresh fails (the cached keys stay in use). */
  onRefreshError?: (error: unknown) => void;
};

type Loaded = { keys: Map<string, CryptoKey>; at: number };

function parseJwks(body: unknown): JWK[] {
  const keys = (body as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new UpstreamInvalidResponseError("users", "the JWKS has no keys array");
  return keys.filter((k): k is JWK => typeof k === "object" && k !== null && typeof (k as JWK).kid === "string");
}

/** Only Ed25519 signing keys; anything else in the set is ignored rather than trusted. */
async function importKeys(jwks: JWK[]): Promise<Map<string, CryptoKey>> {
  const usable = jwks.filter((k) => k.kty === "OKP" && k.crv === "Ed25519" && (k.alg === undefined || k.alg === TOKEN_ALGORITHM) && !k.d);
  // A key that does not import (a malformed "x") is skipped: it must not make the other keys unusable.
  const importOne = (k: JWK) =>
    crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: k.x }, { name: "Ed25519" }, false, ["verify"]).catch(() => null);
  const imported = await Promise.all(usable.map(async (k) => [k.kid!, await importOne(k)] as const));
  return new Map(imported.filter((entry): entry is readonly [string, CryptoKey] => entry[1] !== null));
}

export function createRemoteKeys(options: RemoteKeysOptions): KeySource & { refresh(): Promise<void> } {
  const { users, deadlineMs = 1000, maxAgeMs = 5 * 60_000, minRefetchMs = 10_000, now = Date.now, onRefreshError } = options;
  let loaded: Loaded | null = null;
  let lastAttemptAt = -Infinity;
  let inflight: Promise<Loaded> | null = null;

  const load = (): Promise<Loaded> => {
    if (inflight) return inflight;
    lastAttemptAt = now();
    inflight = users
      .getJson(JWKS_PATH, { deadline: deadlineMs }, parseJwks)
      .then(importKeys)
      .then((keys) => (loaded = { keys, at: now() }))
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };

  const loadOrExplain = () =>
    load().catch((err) => {
      throw new KeysUnavailableError(`the users service's keys could not be fetched: ${(err as Error).message}`, { cause: err });
    });

  return {
    async refresh() {
      await loadOrExplain();
    },
    async key(kid) {
      if (!loaded) return (await loadOrExplain()).keys.get(kid);
      const known = loaded.keys.get(kid);
      if (known) {
        // The cool-down applies here too: while users is down, a failed refresh must not be retried per request.
        if (now() - loaded.at > maxAgeMs && !inflight && now() - lastAttemptAt >= minRefetchMs) load().catch((err) => onRefreshError?.(err));
        return known;
      }
      if (now() - lastAttemptAt < minRefetchMs) return undefined;
      return (await loadOrExplain()).keys.get(kid);
    },
  };
}

/** Keys held in memory: the users service's own, and tests'. */
export async function localKeys(jwks: JWK[]): Promise<KeySource> {
  const keys = await importKeys(jwks);
  return { key: async (kid) => keys.get(kid) };
}
