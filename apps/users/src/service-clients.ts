// Service clients (SERVICE_CLIENT_SECRETS, "client_id=secret,client_id2=secret2"): the apps that may exchange
// a secret for a token with role "service". Secrets are compared as sha-256 digests with timingSafeEqual, so
// neither the secret's content nor its length shows in the time a check takes, and an unknown client is
// checked against a dummy digest the same way.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const digest = (secret: string) => createHash("sha256").update(secret).digest();

/** Throws with a message naming the setting when an entry is malformed or a client id repeats. */
export function parseServiceClients(raw: string | undefined): Map<string, string> {
  const clients = new Map<string, string>();
  for (const entry of (raw ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf("=");
    const id = at < 0 ? entry : entry.slice(0, at).trim();
    const secret = at < 0 ? "" : entry.slice(at + 1).trim();
    if (!CLIENT_ID.test(id)) throw new Error(`SERVICE_CLIENT_SECRETS: "${id}" is not a client id (letters, digits, "_", "." or "-", at most 64)`);
    if (secret === "") throw new Error(`SERVICE_CLIENT_SECRETS: client "${id}" has no secret (client_id=secret)`);
    if (clients.has(id)) throw new Error(`SERVICE_CLIENT_SECRETS: client "${id}" is listed twice`);
    clients.set(id, secret);
  }
  return clients;
}

/** `(clientId, secret) => boolean`; the secrets are digested once, here. */
export function serviceClientCheck(clients: Map<string, string>) {
  const digests = new Map([...clients].map(([id, secret]) => [id, digest(secret)]));
  const dummy = digest(randomBytes(32).toString("hex"));
  return (clientId: string, secret: string): boolean => {
    const expected = digests.get(clientId);
    const matches = timingSafeEqual(digest(secret), expected ?? dummy);
    return expected !== undefined && matches;
  };
}
