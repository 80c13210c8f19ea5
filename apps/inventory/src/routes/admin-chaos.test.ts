// The demo knob switches: GET/PUT /admin/chaos exist only with chaosSwitches (INVENTORY_CHAOS_SWITCHES=1), are
// for admins only, change the knobs for the very next request, never touch /health /ready /metrics, and refuse
// bad input with a 400 that changes nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { createChaosSettings, type ChaosSettings } from "@storefront/shared/chaos";
import { migrate } from "@storefront/shared/db/migrate";
import { describeAdminOnlyRoutes, type AppUnderTest, type AuthRoute } from "@storefront/shared/testing/auth-matrix";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

const [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
let db: TestDatabase;
let asAdmin: Record<string, string>;
let settings: ChaosSettings;
let slept: number[];
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  db = await createTestDatabase("inventory_chaos_switches");
  asAdmin = await issuer.auth(1, "admin");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
}, 60_000);
afterAll(() => db?.drop());
beforeEach(() => {
  slept = [];
  settings = createChaosSettings();
  // random 0.5: the middle of any delay range, and under any fail rate above 0.5.
  app = createApp({ sql: db.sql, verifier: issuer.verifier, chaosSwitches: true, chaos: { settings, random: () => 0.5, sleep: async (ms) => void slept.push(ms) } });
});

const put = (body: unknown, headers = asAdmin, target = app) =>
  target.request("/admin/chaos", { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
const json = async (res: Response) => (await res.json()) as any;

describe("off unless INVENTORY_CHAOS_SWITCHES=1", () => {
  test("without chaosSwitches, GET and PUT /admin/chaos are 404 NOT_FOUND even for an admin, and the knobs stay as the environment set them", async () => {
    const off = createApp({ sql: db.sql, verifier: issuer.verifier, chaos: { failRate: 1, random: () => 0.5 } });
    const get = await off.request("/admin/chaos", { headers: asAdmin });
    expect(get.status).toBe(404);
    expect((await json(get)).error.code).toBe("NOT_FOUND");
    expect((await put({ delay_ms: null, fail_rate: 0 }, asAdmin, off)).status).toBe(404);
    expect((await off.request("/products/1/inventory")).status).toBe(500);
  });

  test("without any knobs or switches there is no /admin/chaos either", async () => {
    expect((await createApp({ sql: db.sql, verifier: issuer.verifier }).request("/admin/chaos", { headers: asAdmin })).status).toBe(404);
  });
});

describe("GET and PUT /admin/chaos", () => {
  test("GET shows the knobs the environment set, in the body's own shape", async () => {
    const withEnv = createApp({ sql: db.sql, verifier: issuer.verifier, chaosSwitches: true, chaos: { delayMs: { min: 10, max: 20 }, failRate: 0.25 } });
    const res = await withEnv.request("/admin/chaos", { headers: asAdmin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delay_ms: { min: 10, max: 20 }, fail_rate: 0.25 });
    expect(await json(await app.request("/admin/chaos", { headers: asAdmin }))).toEqual({ delay_ms: null, fail_rate: 0 });
  });

  test("a PUT applies to the next request: failing, then slow, then healthy again", async () => {
    expect((await app.request("/products/1/inventory")).status).toBe(200);

    const failing = await put({ delay_ms: null, fail_rate: 1 });
    expect(failing.status).toBe(200);
    expect(await failing.json()).toEqual({ delay_ms: null, fail_rate: 1 });
    const refused = await app.request("/inventory?ids=1");
    expect(refused.status).toBe(500);
    expect((await json(refused)).error).toEqual({ code: "INJECTED_FAILURE", message: expect.stringContaining("PUT /admin/chaos") });

    expect(await json(await put({ delay_ms: { min: 100, max: 300 }, fail_rate: 0 }))).toEqual({ delay_ms: { min: 100, max: 300 }, fail_rate: 0 });
    expect(await json(await app.request("/products/1/inventory"))).toMatchObject({ product_id: 1 });
    expect(slept).toEqual([200]);

    await put({ delay_ms: null, fail_rate: 0 });
    expect((await app.request("/products/1/inventory")).status).toBe(200);
    expect(slept).toEqual([200]);
    expect(await json(await app.request("/admin/chaos", { headers: asAdmin }))).toEqual({ delay_ms: null, fail_rate: 0 });
  });

  test("/health, /ready, /metrics and /admin/chaos itself are never delayed nor failed", async () => {
    await put({ delay_ms: { min: 5000, max: 5000 }, fail_rate: 1 });
    for (const path of ["/health", "/ready", "/metrics"]) expect((await app.request(path)).status, path).toBe(200);
    expect((await app.request("/admin/chaos", { headers: asAdmin })).status).toBe(200);
    expect(slept).toEqual([]);
    // Which is how the knobs are turned back.
    expect((await put({ delay_ms: null, fail_rate: 0 })).status).toBe(200);
    expect((await app.request("/products/1/inventory")).status).toBe(200);
  });

  test.each([
    ["a fail rate above 1", { delay_ms: null, fail_rate: 1.5 }, "fail_rate"],
    ["a negative fail rate", { delay_ms: null, fail_rate: -0.1 }, "fail_rate"],
    ["a fail rate as text", { delay_ms: null, fail_rate: "0.5" }, "fail_rate"],
    ["no fail rate", { delay_ms: null }, "fail_rate"],
    ["no delay_ms (null turns it off)", { fail_rate: 0.5 }, "delay_ms"],
    ["min above max", { delay_ms: { min: 300, max: 100 }, fail_rate: 0 }, "min must not exceed max"],
    ["a negative delay", { delay_ms: { min: -1, max: 100 }, fail_rate: 0 }, "delay_ms.min"],
    ["a fractional delay", { delay_ms: { min: 1.5, max: 100 }, fail_rate: 0 }, "delay_ms.min"],
    ["a delay over a minute", { delay_ms: { min: 0, max: 60_001 }, fail_rate: 0 }, "delay_ms.max"],
    ["a delay as one number", { delay_ms: 250, fail_rate: 0 }, "delay_ms"],
    ["an unknown field", { delay_ms: null, fail_rate: 0, note: "x" }, "note"],
  ])("%s: 400 BAD_REQUEST naming it, and the knobs unchanged", async (_, body, named) => {
    settings.set({ delayMs: { min: 1, max: 2 }, failRate: 0.1 });
    const res = await put(body);
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain(named);
    expect(settings.get()).toEqual({ delayMs: { min: 1, max: 2 }, failRate: 0.1 });
  });

  test("a body that is not JSON: 400 BAD_REQUEST in the envelope, nothing changed", async () => {
    const res = await put("{fail_rate: 1");
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe("BAD_REQUEST");
    expect(settings.get()).toEqual({ delayMs: null, failRate: 0 });
  });
});

const chaosSwitches: AppUnderTest = {
  request: (path, init) => app.request(path, init),
  issuer,
  stranger,
  snapshot: async () => settings.get(),
};
const ROUTES: AuthRoute[] = [
  { name: "GET /admin/chaos", method: "GET", path: () => "/admin/chaos", ok: [200], answer: () => ({ delay_ms: null, fail_rate: 0 }) },
  {
    name: "PUT /admin/chaos",
    method: "PUT",
    path: () => "/admin/chaos",
    body: { delay_ms: { min: 0, max: 10 }, fail_rate: 1 },
    invalid: [{ body: {} }, { body: { delay_ms: null, fail_rate: 2 } }],
    ok: [200],
  },
];
describeAdminOnlyRoutes(chaosSwitches, ROUTES);
