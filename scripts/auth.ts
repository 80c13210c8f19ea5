// The secrets the apps need to issue and check tokens, for `bun run dev` and the cross-service tests: the
// users service's signing key (AUTH_PRIVATE_KEY) and the notifications worker's client secret. Development
// keeps one pair under .data/auth/ (made on the first start, never committed); tests make a fresh one per run.
// In production both come from the environment (README, "Keys and secrets").
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPairPem } from "../shared/src/auth/keys.ts";
import type { AppName } from "./apps.ts";

export type AuthSecrets = { privatePem: string; serviceSecret: string };

/** The notifications worker's client id at the users service. */
export const WORKER_CLIENT_ID = "notifications";

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

export async function freshAuthSecrets(): Promise<AuthSecrets> {
  return { privatePem: (await generateKeyPairPem()).privatePem, serviceSecret: randomSecret() };
}

/** The development secrets in `dir` (e.g. .data/auth), made once and kept so tokens survive a restart. */
export async function devAuthSecrets(dir: string): Promise<AuthSecrets> {
  const keyFile = join(dir, "ed25519-private.pem");
  const secretFile = join(dir, "notifications-client-secret");
  if (!existsSync(keyFile) || !existsSync(secretFile)) {
    const fresh = await freshAuthSecrets();
    mkdirSync(dir, { recursive: true });
    writeFileSync(keyFile, fresh.privatePem, { mode: 0o600 });
    writeFileSync(secretFile, fresh.serviceSecret, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
  }
  return { privatePem: readFileSync(keyFile, "utf8"), serviceSecret: readFileSync(secretFile, "utf8").trim() };
}

/** What each app needs of them: users signs and knows the client; the worker presents its secret. */
export function authEnv(name: AppName, secrets: AuthSecrets): Record<string, string> {
  if (name === "users") return { AUTH_PRIVATE_KEY: secrets.privatePem, SERVICE_CLIENT_SECRETS: `${WORKER_CLIENT_ID}=${secrets.serviceSecret}` };
  if (name === "notifications") return { SERVICE_CLIENT_ID: WORKER_CLIENT_ID, SERVICE_CLIENT_SECRET: secrets.serviceSecret };
  return {};
}
