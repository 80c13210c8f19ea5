// Runs the real payments service (`bun apps/payments/src/index.ts`) as a child process for abort, crash and
// start-up tests, with a stand-in users service that only publishes a test issuer's keys (its JWKS).
import { waitUntilReady } from "../../../../scripts/wait-ready.ts";
import { freePort } from "../../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../../tests/support/processes.ts";

export const ENTRY = "apps/payments/src/index.ts";
export const READY_TIMEOUT_MS = 30_000;

/** The users service as payments sees it: GET /.well-known/jwks.json, nothing else. */
export function startJwksStub(jwks: { keys: object[] }) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const { pathname } = new URL(req.url);
      if (req.method === "GET" && pathname === "/.well-known/jwks.json") return Response.json(jwks);
      return Response.json({ error: { code: "NOT_FOUND", message: `no stub for ${req.method} ${pathname}` } }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

/** The parent's environment without any payments setting a developer may have exported, plus `env`. */
function childEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (/^(PORT|LOG_LEVEL|PAYMENT_|PAYMENTS_|USERS_URL)/.test(key)) delete base[key];
  }
  return { ...base, ...env };
}

export type PaymentsProcess = TestProcess & { url: string };

export async function startPayments(env: Record<string, string>): Promise<PaymentsProcess> {
  const port = freePort();
  const proc = startProcess("payments", [ENTRY], childEnv({ ...env, PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
      proc.proc.exited.then((code) => Promise.reject(new Error(`payments exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return Object.assign(proc, { url });
}

/** Runs the service and returns how it ended, for start-up refusals. */
export async function runPaymentsToExit(env: Record<string, string>, timeoutMs = 20_000) {
  const proc = startProcess("payments", [ENTRY], childEnv({ ...env, PORT: String(freePort()) }));
  const code = await proc.exitWithin(timeoutMs).finally(() => proc.stop());
  return { code, output: proc.output.join("\n") };
}
