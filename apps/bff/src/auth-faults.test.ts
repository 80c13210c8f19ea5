// The BFF as a real process whose users service (where the keys that check tokens come from) is behind a fault
// proxy, for every fault, with nothing cached yet: a request with a token is answered within the keys'
// deadline with a designed status (503 AUTH_UNAVAILABLE when no key can be had), the process stays up, and
// once users answers again the same token works.
// An anonymous listing never needs the keys: it is served whatever users does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createFaultProxy, describeFaultMode, EVERY_FAULT, type FaultMode, type FaultProxy } from "@storefront/shared/testing/fault-proxy";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { cleanEnv, freshQueue } from "../../../tests/support/stack.ts";
import { startFaultStubs, type FaultStubs } from "./testing/fault-stubs.ts";

// The keys' own deadline (remote-keys.ts, 1 s) plus scheduling on a shared 2-core machine.
const KEYS_DEADLINE_MS = 1000;
const MARGIN_MS = 1000;

const issuer = await createTestIssuer();
const token = await issuer.token(1);
const auth = { authorization: `Bearer ${token}` };
const space = freshQueue("bff-auth-faults");
let stubs: FaultStubs;
let users: FaultProxy;

beforeAll(async () => {
  stubs = startFaultStubs(issuer.jwks);
  users = await createFaultProxy({ upstreamPort: stubs.port });
});

afterAll(async () => {
  await users?.close();
  await stubs?.stop();
  await space.cleanup();
});

/** A BFF of its own per fault: its keys cache starts empty. */
async function startBff(): Promise<{ bff: TestProcess; url: string }> {
  const port = freePort();
  const bff = startProcess("bff", ["apps/bff/src/index.ts"], {
    ...cleanEnv(),
    PORT: String(port),
    PRODUCTS_URL: stubs.url,
    INVENTORY_URL: stubs.url,
    CART_URL: stubs.url,
    FAVORITES_URL: stubs.url,
    NOTIFICATIONS_URL: stubs.url,
    USERS_URL: users.url,
    QUEUE_PREFIX: space.prefix,
    LOG_LEVEL: "warn",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${url}/ready`, { timeoutMs: 15_000 });
  return { bff, url };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, ms: performance.now() - started, retryAfter: res.headers.get("retry-after") };
}

/**
 * What a request with a token gets while users has this fault and nothing is cached: the listing, or 503
 * AUTH_UNAVAILABLE (not a 401: the token may be fine, the BFF cannot tell). A JWKS of the wrong shape is
 * the same: no keys could be had.
 */
const expectedWhile = (mode: FaultMode): { status: number; code?: string } =>
  mode.kind === "pass" || mode.kind === "slow" ? { status: 200 } : { status: 503, code: "AUTH_UNAVAILABLE" };

describe("the users service faulty before any key is cached", () => {
  for (const mode of EVERY_FAULT) {
    test(`${describeFaultMode(mode)}: a token gets a designed answer within the deadline, the BFF stays up, and the token works once users is back`, async () => {
      await users.setMode(mode);
      const { bff, url } = await startBff();
      try {
        const anonymous = await get(`${url}/products/all`);
        expect(anonymous.status).toBe(200);

        const answer = await get(`${url}/products/all`, auth);
        const want = expectedWhile(mode);
        expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: want.status, code: want.code });
        expect(answer.ms).toBeLessThan(KEYS_DEADLINE_MS + MARGIN_MS);
        if (answer.status === 503) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);

        await users.setMode({ kind: "pass" });
        // The BFF may have just tried (a refetch waits 10 s after a failed one, or the breaker is open): poll.
        let after = await get(`${url}/cart`, auth);
        const until = Date.now() + 15_000;
        while (after.status !== 200 && Date.now() < until) {
          await Bun.sleep(250);
          after = await get(`${url}/cart`, auth);
        }
        expect(after.status).toBe(200);
        expect(bff.proc.exitCode).toBeNull();
        expect(bff.output.filter((line) => /unhandled|uncaught/i.test(line))).toEqual([]);
      } finally {
        await bff.stop();
      }
    }, 40_000);
  }
});
