// The real service as a process on a real socket: start-up from the environment, login and the JWKS over
// HTTP, bad input answered without taking it down, and a start-up refused in one line without a key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPairPem } from "@storefront/shared/auth/keys";
import { localKeys } from "@storefront/shared/auth/remote-keys";
import { createTokenVerifier } from "@storefront/shared/auth/token-verifier";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";

const ENTRY = "apps/users/src/index.ts";
// Without TEST_DATABASE_URL the process starts an embedded Postgres of its own (initdb takes a while).
const READY_TIMEOUT_MS = process.env.TEST_DATABASE_URL ? 30_000 : 120_000;

const started: TestProcess[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** The parent's environment without any users setting a developer may have exported, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(PORT|LOG_LEVEL|USERS_|AUTH_|ACCESS_TOKEN_|REFRESH_TOKEN_|SERVICE_TOKEN_|PASSWORD_|SERVICE_CLIENT_)/.test(key)) delete base[key];
  }
  return { ...base, ...env };
}

const run = (env: Record<string, string>) => {
  const proc = startProcess("users", [ENTRY], childEnv(env));
  started.push(proc);
  return proc;
};

/** A database the process opens itself: on TEST_DATABASE_URL's server, else an embedded one in a temp dir. */
async function storage(): Promise<Record<string, string>> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await createTestDatabase("users_process");
    cleanups.push(db.drop);
    return { USERS_DATABASE_URL: db.url };
  }
  const dir = mkdtempSync(join(tmpdir(), "storefront-users-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { USERS_DATA_DIR: dir };
}

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the users process, running", () => {
  let url: string;
  let retiredPublicPem: string;

  beforeAll(async () => {
    const port = freePort();
    url = `http://127.0.0.1:${port}`;
    const current = await generateKeyPairPem();
    retiredPublicPem = (await generateKeyPairPem()).publicPem;
    const proc = run({
      ...(await storage()),
      PORT: String(port),
      // As an environment file often carries it: one line, with "\n" escapes.
      AUTH_PRIVATE_KEY: current.privatePem.replace(/\n/g, "\\n"),
      AUTH_RETIRED_PUBLIC_KEYS: retiredPublicPem,
      PASSWORD_MEMORY_KIB: "1024",
      PASSWORD_TIME_COST: "1",
      SERVICE_CLIENT_SECRETS: "notifications=process-test-secret",
    });
    await Promise.race([
      waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
      proc.proc.exited.then((code) => Promise.reject(new Error(`users exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
    ]);
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", connection: "close", ...headers }, body });

  test("login over HTTP; the access token verifies against the JWKS fetched over HTTP", async () => {
    const login = await post("/auth/login", JSON.stringify({ email: "user1@storefront.test", password: "storefront-demo" }));
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };

    const jwksAnswer = await fetch(`${url}/.well-known/jwks.json`, { headers: { connection: "close" } });
    expect(jwksAnswer.headers.get("cache-control")).toBe("public, max-age=300");
    const jwks = (await jwksAnswer.json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys).toHaveLength(2); // the current key and the retired one
    expect(jwks.keys.some((k) => "d" in k)).toBe(false);

    const verifier = createTokenVerifier({ keys: await localKeys(jwks.keys) });
    expect(await verifier.verify(access_token)).toMatchObject({ sub: "1", role: "customer", userId: 1 });

    const me = await fetch(`${url}/users/1`, { headers: { authorization: `Bearer ${access_token}`, connection: "close" } });
    expect(await me.json()).toEqual({ user_id: 1, email: "user1@storefront.test", name: "User 1", role: "customer" });
  });

  test("a service client from SERVICE_CLIENT_SECRETS gets a service token", async () => {
    const answer = await post("/auth/service-token", JSON.stringify({ client_id: "notifications", client_secret: "process-test-secret" }));
    expect(answer.status).toBe(200);
  });

  test("malformed JSON, a huge email and an oversized body: 4xx in the envelope, and the process keeps serving", async () => {
    const malformed = await post("/auth/login", '{"email": "user1@storefront.test", "password":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error.code).toBe("BAD_REQUEST");

    const huge = await post("/auth/register", JSON.stringify({ email: `${"a".repeat(20_000)}@example.com`, password: "long-enough-pw", name: "Huge" }));
    expect(huge.status).toBe(400);
    const hugeBody = await huge.text();
    expect(JSON.parse(hugeBody).error.code).toBe("BAD_REQUEST");
    expect(hugeBody.length).toBeLessThan(1000); // the message does not echo the input

    const oversized = await post("/auth/login", JSON.stringify({ email: "user1@storefront.test", password: "x".repeat(200_000) }));
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as any).error.code).toBe("PAYLOAD_TOO_LARGE");

    const again = await post("/auth/login", JSON.stringify({ email: "user2@storefront.test", password: "storefront-demo" }));
    expect(again.status).toBe(200);
  });
});

describe("the users process, refusing to start", () => {
  /** Every line the process wrote, stdout and stderr, once it has exited. */
  async function exitOf(env: Record<string, string>) {
    const proc = run({ PORT: String(freePort()), USERS_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", ...env });
    const code = await proc.exitWithin(20_000);
    await Bun.sleep(50); // the last lines
    return { code, lines: proc.output.filter((line) => line.trim() !== "") };
  }

  const expectOneJsonLine = (lines: string[], mentions: string) => {
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: "error", service: "users" });
    expect(lines[0]).toContain(mentions);
    expect(entry).not.toHaveProperty("stack");
  };

  test("without AUTH_PRIVATE_KEY: exit 1 with one JSON line naming it, no stack", async () => {
    const { code, lines } = await exitOf({});
    expect(code).toBe(1);
    expectOneJsonLine(lines, "AUTH_PRIVATE_KEY");
  });

  test("with an AUTH_PRIVATE_KEY that is not a key: exit 1 with one JSON line naming it, no stack", async () => {
    const { code, lines } = await exitOf({ AUTH_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----" });
    expect(code).toBe(1);
    expectOneJsonLine(lines, "AUTH_PRIVATE_KEY");
  });

  test("with an Ed25519 public key where the private one belongs: refused the same way", async () => {
    const { publicPem } = await generateKeyPairPem();
    const { code, lines } = await exitOf({ AUTH_PRIVATE_KEY: publicPem });
    expect(code).toBe(1);
    expectOneJsonLine(lines, "AUTH_PRIVATE_KEY");
  });
});
