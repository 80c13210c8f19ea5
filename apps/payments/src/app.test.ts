// How createApp wires the demo knobs (PAYMENT_DELAY_MS, PAYMENT_FAIL_RATE): data routes only, never /health,
// /ready or /metrics; an injected failure on a charge charged nothing and answers like a provider's transient one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { buildApp, createTestbed, nextOrderId, paymentsOf, postCharge, type Testbed } from "./testing/payments-app.ts";

let bed: Testbed;
beforeAll(async () => {
  bed = await createTestbed("payments_app");
}, 60_000);
afterAll(() => bed?.db.drop());

const recordSleeps = () => {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
};

describe("demo knobs in the app", () => {
  test("the delay applies to every data route, with the drawn value, and the answers are still right", async () => {
    const { slept, sleep } = recordSleeps();
    const { app } = buildApp(bed, { chaos: { delayMs: { min: 1000, max: 2000 }, random: () => 0.25, sleep } });
    const order_id = nextOrderId();
    const charged = await postCharge(app, bed, `chaos-${randomUUID()}`, { order_id, amount_cents: 100, card_token: "tok_visa" });
    expect(charged.status).toBe(201);
    const { payment_id } = (await charged.json()) as { payment_id: string };
    expect((await app.request(`/payments?order_id=${order_id}`, { headers: bed.asService })).status).toBe(200);
    expect((await app.request(`/payments/${payment_id}`, { headers: bed.asService })).status).toBe(200);
    expect((await app.request(`/payments/${payment_id}/refund`, { method: "POST", headers: bed.asService })).status).toBe(200);
    expect(slept).toEqual([1250, 1250, 1250, 1250]);
  });

  test("fail rate 1 on a charge: 502 UPSTREAM_ERROR naming the variable, nothing written, the provider not asked", async () => {
    const { app, provider } = buildApp(bed, { chaos: { failRate: 1, failRateName: "PAYMENT_FAIL_RATE", random: () => 0.5 } });
    const order_id = nextOrderId();
    const res = await postCharge(app, bed, `chaos-${randomUUID()}`, { order_id, amount_cents: 100, card_token: "tok_visa" });
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe("UPSTREAM_ERROR");
    expect(error.message).toContain("PAYMENT_FAIL_RATE");
    expect(await paymentsOf(bed, order_id)).toEqual([]);
    expect(provider.charges).toBe(0);
  });

  test("fail rate 1 on the other data routes: 500 INJECTED_FAILURE, nothing refunded", async () => {
    const plain = buildApp(bed);
    const order_id = nextOrderId();
    const { payment_id } = (await (await postCharge(plain.app, bed, `chaos-${randomUUID()}`, { order_id, amount_cents: 100, card_token: "tok_visa" })).json()) as any;
    const { app, provider } = buildApp(bed, { chaos: { failRate: 1, random: () => 0.5 } });
    for (const [method, path] of [
      ["GET", `/payments?order_id=${order_id}`],
      ["GET", `/payments/${payment_id}`],
      ["POST", `/payments/${payment_id}/refund`],
    ] as const) {
      const res = await app.request(path, { method, headers: bed.asService });
      expect(res.status, path).toBe(500);
      expect(((await res.json()) as any).error.code, path).toBe("INJECTED_FAILURE");
    }
    expect(provider.refunds).toBe(0);
    expect((await paymentsOf(bed, order_id)).map((p) => p.status)).toEqual(["succeeded"]);
  });

  test("/health, /ready and /metrics are never delayed nor failed", async () => {
    const { slept, sleep } = recordSleeps();
    const { app } = buildApp(bed, { chaos: { delayMs: { min: 5000, max: 5000 }, failRate: 1, random: () => 0, sleep } });
    for (const path of ["/health", "/ready", "/metrics"]) expect((await app.request(path)).status, path).toBe(200);
    expect(slept).toEqual([]);
  });
});
