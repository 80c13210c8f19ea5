// Runs the real orders service (`bun apps/orders/src/index.ts`) as a child process for fault, restart and
// start-up tests: short saga timings, its own BullMQ prefix on the test Redis, and the upstream stand-ins'
// URLs. Also the checks every such test ends with: the process still answers /health and logged no error
// nobody handled.
import { expect } from "bun:test";
import { testRedisUrl } from "@storefront/shared/testing/test-redis";
import { waitUntilReady } from "../../../../scripts/wait-ready.ts";
import { freePort } from "../../../../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../../../../tests/support/processes.ts";
import { cleanEnv } from "../../../../tests/support/stack.ts";

export const ENTRY = "apps/orders/src/index.ts";
export const READY_TIMEOUT_MS = 30_000;

/** What the fault tests run the saga with: a crashed runner's lease lapses in a second, the sweeper looks every 100 ms. */
export const FAULT_TIMINGS = {
  SAGA_LEASE_MS: "1000",
  SAGA_SWEEP_MS: "100",
  SAGA_STEP_DEADLINE_MS: "500",
  CHECKOUT_WAIT_MS: "1000",
} as const;
export const CHECKOUT_WAIT_MS = Number(FAULT_TIMINGS.CHECKOUT_WAIT_MS);

export type OrdersProcess = TestProcess & { url: string };

/** The test's environment without the developer's app settings, plus the queue, the timings and `env`. */
export function ordersEnv(env: Record<string, string>): Record<string, string | undefined> {
  return { ...cleanEnv(), REDIS_URL: testRedisUrl, LOG_LEVEL: "info", ...FAULT_TIMINGS, ...env };
}

/** Starts the process on a free port and waits until /ready answers (or throws with its output if it exits first). */
export async function startOrders(env: Record<string, string>): Promise<OrdersProcess> {
  const port = freePort();
  const proc = startProcess("orders", [ENTRY], ordersEnv({ ...env, PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitUntilReady(`${url}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
      proc.proc.exited.then((code) => Promise.reject(new Error(`orders exited (${code}) during start-up:\n${proc.output.join("\n")}`))),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return Object.assign(proc, { url });
}

/** Runs the process to its end, for start-up refusals: its exit code and the non-empty lines it wrote. */
export async function runOrdersToExit(env: Record<string, string>, timeoutMs = 60_000) {
  const proc = startProcess("orders", [ENTRY], ordersEnv({ ...env, PORT: String(freePort()) }));
  try {
    const code = await proc.exitWithin(timeoutMs);
    await Bun.sleep(100); // the last lines
    return { code, lines: proc.output.filter((line) => line.trim() !== "") };
  } finally {
    await proc.stop();
  }
}

/** A line of the shared process guards: a promise rejection or an exception nobody handled. */
export const UNHANDLED = /unhandled promise rejection|uncaught exception/i;

/** The process is running, answers /health with 200 and has logged no unhandled error. */
export async function expectUp(proc: OrdersProcess) {
  expect(proc.proc.exitCode).toBeNull();
  const res = await fetch(`${proc.url}/health`, { headers: { connection: "close" } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: "ok", service: "orders" });
  expect(proc.output.filter((line) => UNHANDLED.test(line))).toEqual([]);
}
