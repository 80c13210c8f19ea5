// The BFF as a real process whose rate-limit Redis does not answer: it starts, says so once, serves every
// request (counting in memory), prints no unhandled 'error' event of the Redis client, and still refuses
// past a quota. (In-process tests built the client and the limits together; index.ts did not, and ioredis
// printed "Unhandled error event" for every reconnect while the BFF waited for Redis at start.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { waitUntilReady } from "../../../scripts/wait-ready.ts";
import { freePort } from "../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../tests/support/processes.ts";
import { cleanEnv } from "../../../tests/support/stack.ts";
import { startFaultStubs, type FaultStubs } from "./testing/fault-stubs.ts";

const USER_QUOTA = 5;
const issuer = await createTestIssuer();
let stubs: FaultStubs;
let bff: TestProcess;
let url: string;

beforeAll(async () => {
  stubs = startFaultStubs(issuer.jwks);
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  bff = startProcess("bff", ["apps/bff/src/index.ts"], {
    ...cleanEnv(),
    PORT: String(port),
    ...Object.fromEntries(["PRODUCTS", "INVENTORY", "CART", "FAVORITES", "NOTIFICATIONS", "USERS"].map((s) => [`${s}_URL`, stubs.url])),
    // Nothing listens there: every connection attempt is refused.
    REDIS_URL: `redis://127.0.0.1:${freePort()}`,
    RATE_LIMIT_USER: `${USER_QUOTA}/60`,
    LOG_LEVEL: "info",
  });
  await waitUntilReady(`${url}/ready`, { timeoutMs: 15_000 });
});

afterAll(async () => {
  await bff?.stop();
  await stubs?.stop();
});

test("Redis unreachable: the BFF serves, counts in memory (still refusing past the quota), and prints no unhandled Redis error", async () => {
  const auth = { authorization: `Bearer ${await issuer.token(1)}` };
  const statuses: number[] = [];
  for (let i = 0; i < USER_QUOTA + 2; i++) {
    const res = await fetch(`${url}/cart`, { headers: auth });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  expect(statuses).toEqual([...Array(USER_QUOTA).fill(200), 429, 429]);
  // Let a few reconnect attempts happen (ioredis retries every few hundred ms at first).
  await Bun.sleep(1500);
  expect(bff.output.filter((line) => /Unhandled error event|ECONNREFUSED/.test(line) && !line.startsWith("{"))).toEqual([]);
  expect(bff.output.filter((line) => line.includes("no Redis at start"))).toHaveLength(1);
  expect(bff.proc.exitCode).toBeNull();
});
