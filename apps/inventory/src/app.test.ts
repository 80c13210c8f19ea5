// How createApp wires the demo knobs: data routes only, never /health or /ready.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "./app.ts";

let db: TestDatabase;
let issuer: TestIssuer;
/** Setting stock is for admins; who else may not is inventory-auth.test.ts. */
let asAdmin: Record<string, string>;

// Own timeout: the embedded fallback's first start can outlast bun's 5 s hook default
// (bun 1.4.4 ignores bunfig's [test] timeout; only --timeout or a per-hook value applies).
beforeAll(async () => {
  db = await createTestDatabase("inventory_app");
  issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
}, 60_000);
afterAll(() => db?.drop());

const recordSleeps = () => {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
};

describe("demo knobs in the app", () => {
  test("the delay applies to every data route, with the drawn value, and the answer is still right", async () => {
    const { slept, sleep } = recordSleeps();
    const app = createApp({ sql: db.sql, verifier: issuer.verifier, chaos: { delayMs: { min: 1000, max: 2000 }, random: () => 0.25, sleep } });
    const one = await app.request("/products/1/inventory");
    expect(await one.json()).toEqual({ product_id: 1, inventory: 42, on_hand: 42, reserved: 0 });
    const batch = await app.request("/inventory?ids=1");
    expect(await batch.json()).toEqual([{ product_id: 1, inventory: 42 }]);
    const set = await app.request("/products/1/inventory", { method: "PUT", headers: { ...asAdmin, "content-type": "application/json" }, body: '{"inventory":42}' });
    expect(set.status).toBe(200);
    expect(slept).toEqual([1250, 1250, 1250]);
  });

  test("fail rate 1 answers data routes with 500 INJECTED_FAILURE and writes nothing", async () => {
    const app = createApp({ sql: db.sql, verifier: issuer.verifier, chaos: { failRate: 1, random: () => 0.5 } });
    for (const path of ["/products/1/inventory", "/inventory?ids=1,2"]) {
      const res = await app.request(path);
      expect(res.status).toBe(500);
      expect(((await res.json()) as any).error).toEqual({ code: "INJECTED_FAILURE", message: expect.any(String) });
    }
    const put = await app.request("/products/1/inventory", { method: "PUT", headers: { ...asAdmin, "content-type": "application/json" }, body: '{"inventory":9}' });
    expect(put.status).toBe(500);
    const [row] = await db.sql<{ inventory: number }[]>`select inventory from stock where product_id = 1`;
    expect(row?.inventory).toBe(42);
  });

  test("/health and /ready are never delayed nor failed", async () => {
    const { slept, sleep } = recordSleeps();
    const app = createApp({ sql: db.sql, verifier: issuer.verifier, chaos: { delayMs: { min: 5000, max: 5000 }, failRate: 1, random: () => 0, sleep } });
    expect((await app.request("/health")).status).toBe(200);
    expect((await app.request("/ready")).status).toBe(200);
    expect(slept).toEqual([]);
  });

  test("without knobs nothing is delayed or failed", async () => {
    const app = createApp({ sql: db.sql, verifier: issuer.verifier });
    expect((await app.request("/products/1/inventory")).status).toBe(200);
  });
});
