// The secrets the apps need to issue and check tokens, for `bun run dev` and the cross-service tests: the
// users service's signing key (AUTH_PRIVATE_KEY) and a client secret for each app that calls other services
// with a token of its own (the notifications worker, the orders saga). Development keeps one set under
// .data/auth/ (made on the first start, never committed); tests make a fresh one per run. In production
// they come from the environment (README, "Keys and secrets").
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPairPem } from "../shared/src/auth/keys.ts";
import type { AppName } from "./apps.ts";

/** The apps that exchange a client secret at the users service for a service token; each is its own client id. */
export const SERVICE_CLIENTS = ["notifications", "orders"] as const satisfies readonly AppName[];
export type ServiceClient = (typeof SERVICE_CLIENTS)[number];

export type AuthSecrets = { privatePem: string; clientSecrets: Record<ServiceClient, string> };

/** The notifications worker's client id at the users service. */
export const WORKER_CLIENT_ID = "notifications";

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
const secretFile = (dir: string, client: ServiceClient) => join(dir, `${client}-client-secret`);

export async function freshAuthSecrets(): Promise<AuthSecrets> {
  const clientSecrets = Object.fromEntries(SERVICE_CLIENTS.map((client) => [client, randomSecret()])) as Record<ServiceClient, string>;
  return { privatePem: (await generateKeyPairPem()).privatePem, clientSecrets };
}

/** The development secrets in `dir` (e.g. .data/auth), each made once and kept so tokens survive a restart. */
export async function devAuthSecrets(dir: string): Promise<AuthSecrets> {
  const keyFile = join(dir, "ed25519-private.pem");
  mkdirSync(dir, { recursive: true });
  if (!existsSync(keyFile)) {
    writeFileSync(keyFile, (await generateKeyPairPem()).privatePem, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
  }
  for (const client of SERVICE_CLIENTS) {
    if (!existsSync(secretFile(dir, client))) writeFileSync(secretFile(dir, client), randomSecret(), { mode: 0o600 });
  }
  const clientSecrets = Object.fromEntries(SERVICE_CLIENTS.map((client) => [client, readFileSync(secretFile(dir, client), "utf8").trim()])) as Record<ServiceClient, string>;
  return { privatePem: readFileSync(keyFile, "utf8"), clientSecrets };
}

/** What each app needs of them: users signs and knows every client; each client app presents its own secret. */
export function authEnv(name: AppName, secrets: AuthSecrets): Record<string, string> {
  if (name === "users") {
    const clients = SERVICE_CLIENTS.map((client) => `${client}=${secrets.clientSecrets[client]}`).join(",");
    return { AUTH_PRIVATE_KEY: secrets.privatePem, SERVICE_CLIENT_SECRETS: clients };
  }
  if ((SERVICE_CLIENTS as readonly string[]).includes(name)) {
    return { SERVICE_CLIENT_ID: name, SERVICE_CLIENT_SECRET: secrets.clientSecrets[name as ServiceClient] };
  }
  return {};
}
