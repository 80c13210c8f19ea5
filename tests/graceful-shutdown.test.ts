// SIGTERM as an orchestrator sends it: the products service must finish what it is serving, exit 0 and free its port.
import { afterEach, describe, expect, test } from "bun:test";
import { portIsFree } from "../scripts/ports.ts";
import { waitUntilReady } from "../scripts/wait-ready.ts";
import { createTestDatabase, type TestDatabase } from "../shared/src/testing/test-database.ts";
import { freePort } from "./support/free-ports.ts";
import { startProcess, type TestProcess } from "./support/processes.ts";
import { READY_TIMEOUT_MS, cleanEnv, freshQueue, freshStorage, usesRealPostgres, type Storage } from "./support/stack.ts";

const EXIT_WITHIN_MS = 5_000;
let cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function startProducts(storageEnv: Record<string, string>): Promise<{ products: TestProcess; port: number }> {
  const port = freePort();
  // Its outbox relay gets a prefix of its own, deleted after the process has stopped (cleanups run in reverse).
  const queue = freshQueue("shutdown");
  cleanups.push(queue.cleanup);
  const products = startProcess("products", ["apps/products/src/index.ts"], { ...cleanEnv(), ...storageEnv, ...queue.env, PORT: String(port) });
  cleanups.push(() => products.stop());
  await Promise.race([
    waitUntilReady(`http://127.0.0.1:${port}/ready`, { timeoutMs: READY_TIMEOUT_MS }),
    products.proc.exited.then((code) => Promise.reject(new Error(`products exited (${code}) during start-up:\n${products.output.join("\n")}`))),
  ]);
  return { products, port };
}

describe("graceful shutdown", () => {
  test(
    "an idle products service exits 0 on SIGTERM and frees its port",
    async () => {
      const storage: Storage = await freshStorage("shutdown", ["products"]);
      cleanups.push(storage.cleanup);
      const { products, port } = await startProducts(storage.env);

      products.proc.kill("SIGTERM");
      expect(await products.exitWithin(EXIT_WITHIN_MS)).toBe(0);
      expect(portIsFree(port)).toBe(true);
    },
    READY_TIMEOUT_MS + 30_000,
  );

  // Holding a lock on the products table from the test is what makes a request slow on demand; the embedded
  // database lives inside the service's own process, so this needs a real server.
  test.skipIf(!usesRealPostgres)("a request in flight when SIGTERM arrives is answered before the process exits 0", async () => {
    const db: TestDatabase = await createTestDatabase("shutdown_inflight");
    cleanups.push(db.drop);
    const { products, port } = await startProducts({ PRODUCTS_DATABASE_URL: db.url });

    const locker = await db.sql.reserve();
    cleanups.push(async () => locker.release());
    await locker`begin`;
    await locker`lock table product in access exclusive mode`;
    const slow = fetch(`http://127.0.0.1:${port}/products?limit=3`).then(async (res) => ({ status: res.status, body: (await res.json()) as { product_id: number }[] }));
    await waitFor(async () => (await db.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length > 0);

    products.proc.kill("SIGTERM");
    await products.waitForLine(/draining in-flight requests/, EXIT_WITHIN_MS);
    // Still draining: the request cannot finish while the lock is held, so the process must still be running.
    expect(products.proc.exitCode).toBeNull();

    await locker`rollback`;
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body.map((p) => p.product_id)).toEqual([1, 2, 3]);
    expect(await products.exitWithin(EXIT_WITHIN_MS)).toBe(0);
    expect(portIsFree(port)).toBe(true);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}
