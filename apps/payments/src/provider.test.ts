// The simulated card provider on its own: what each test card does, idempotency on the payment id, a
// transient failure or a timeout that records nothing, and refunds recorded once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { findProviderCharge } from "./db/provider-charges.ts";
import { createSimulatedProvider, ProviderTransientError, SLOW_CARD_MS } from "./provider.ts";
import { createGate, createTestbed, noSleep, until, type Testbed } from "./testing/payments-app.ts";

let bed: Testbed;
beforeAll(async () => {
  bed = await createTestbed("payments_provider");
}, 60_000);
afterAll(() => bed?.db.drop());

const never = () => new AbortController().signal;
const charge = (provider: ReturnType<typeof createSimulatedProvider>, cardToken: string, paymentId = randomUUID()) =>
  provider.charge({ paymentId, amountCents: 1234, cardToken }, never());

describe("test cards", () => {
  test("tok_visa succeeds and is recorded with a provider reference", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep });
    const paymentId = randomUUID();
    const result = await charge(provider, "tok_visa", paymentId);
    expect(result).toEqual({ status: "succeeded", providerRef: expect.stringMatching(/^ch_[0-9a-f]{32}$/) });
    expect(await findProviderCharge(bed.db.sql, paymentId)).toMatchObject({ outcome: "succeeded", amount_cents: 1234, card_token: "tok_visa", refunded_at: null });
  });

  test("tok_decline is declined with card_declined; any other token with unknown_test_card", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep });
    expect(await charge(provider, "tok_decline")).toMatchObject({ status: "declined", declineReason: "card_declined" });
    for (const token of ["tok_unknown", "4242424242424242", "TOK_VISA"]) {
      expect(await charge(provider, token), token).toMatchObject({ status: "declined", declineReason: "unknown_test_card" });
    }
  });

  test("tok_slow waits 3 s (asked of the injected sleep), then succeeds", async () => {
    const slept: number[] = [];
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: async (ms) => void slept.push(ms) });
    expect(await charge(provider, "tok_slow")).toMatchObject({ status: "succeeded" });
    expect(slept).toEqual([SLOW_CARD_MS]);
    expect(SLOW_CARD_MS).toBe(3000);
  });

  test("tok_flaky: a draw below 0.5 is a transient failure that records nothing; 0.5 and above succeed", async () => {
    const draws = [0.49, 0.5];
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep, random: () => draws.shift()! });
    const paymentId = randomUUID();
    const failure = await charge(provider, "tok_flaky", paymentId).catch((err) => err);
    expect(failure).toBeInstanceOf(ProviderTransientError);
    expect(failure.reason).toBe("unavailable");
    expect(await findProviderCharge(bed.db.sql, paymentId)).toBeNull();
    expect(await charge(provider, "tok_flaky", paymentId)).toMatchObject({ status: "succeeded" });
  });
});

describe("idempotent on the payment id", () => {
  test("asked again for a charged payment: the first result, no second wait, no second row", async () => {
    const slept: number[] = [];
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: async (ms) => void slept.push(ms) });
    const paymentId = randomUUID();
    const first = await charge(provider, "tok_slow", paymentId);
    // Even a different token: the provider answers for the payment, not for the card.
    expect(await charge(provider, "tok_decline", paymentId)).toEqual(first);
    expect(slept).toEqual([SLOW_CARD_MS]);
    expect((await bed.db.sql`select count(*)::int as n from provider_charges where payment_id = ${paymentId}`)[0]!.n).toBe(1);
  });

  test("a declined payment stays declined, and a flaky card's recorded success is not drawn again", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep, random: () => 0.9 });
    const declined = randomUUID();
    const first = await charge(provider, "tok_decline", declined);
    expect(await charge(provider, "tok_decline", declined)).toEqual(first);

    const flaky = randomUUID();
    const succeeded = await charge(provider, "tok_flaky", flaky);
    const failing = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep, random: () => 0 });
    expect(await charge(failing, "tok_flaky", flaky)).toEqual(succeeded);
  });

  test("two calls for one payment at the same time: one row, and both get its result", async () => {
    const gate = createGate();
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: gate.sleep });
    const paymentId = randomUUID();
    const both = Promise.all([charge(provider, "tok_slow", paymentId), charge(provider, "tok_slow", paymentId)]);
    await until("both calls wait", () => gate.waiting() === 2);
    gate.open();
    const [a, b] = await both;
    expect(a).toEqual(b);
    expect((await bed.db.sql`select count(*)::int as n from provider_charges where payment_id = ${paymentId}`)[0]!.n).toBe(1);
  });
});

describe("the caller's timeout", () => {
  test("firing during tok_slow's wait: a transient timeout error, nothing recorded, and the payment can be charged later", async () => {
    const gate = createGate();
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: gate.sleep });
    const paymentId = randomUUID();
    const timeout = new AbortController();
    const attempt = provider.charge({ paymentId, amountCents: 500, cardToken: "tok_slow" }, timeout.signal).catch((err) => err);
    await until("the charge waits", () => gate.waiting() === 1);
    timeout.abort(new Error("provider timeout"));
    const failure = await attempt;
    expect(failure).toBeInstanceOf(ProviderTransientError);
    expect(failure.reason).toBe("timeout");
    expect(await findProviderCharge(bed.db.sql, paymentId)).toBeNull();

    gate.open();
    expect(await provider.charge({ paymentId, amountCents: 500, cardToken: "tok_slow" }, never())).toMatchObject({ status: "succeeded" });
  });

  test("already fired before the call: nothing recorded", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep });
    const paymentId = randomUUID();
    const failure = await provider.charge({ paymentId, amountCents: 500, cardToken: "tok_visa" }, AbortSignal.abort()).catch((err) => err);
    expect(failure).toBeInstanceOf(ProviderTransientError);
    expect(await findProviderCharge(bed.db.sql, paymentId)).toBeNull();
  });
});

describe("refunds", () => {
  test("recorded once: a second refund returns the first refund's time", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep });
    const paymentId = randomUUID();
    await charge(provider, "tok_visa", paymentId);
    const first = await provider.refund(paymentId);
    expect(first.refundedAt).toBeInstanceOf(Date);
    expect(await provider.refund(paymentId)).toEqual(first);
    expect((await findProviderCharge(bed.db.sql, paymentId))?.refunded_at).toEqual(first.refundedAt);
  });

  test("a declined or unknown payment has nothing to refund", async () => {
    const provider = createSimulatedProvider({ sql: bed.db.sql, sleep: noSleep });
    const declined = randomUUID();
    await charge(provider, "tok_decline", declined);
    await expect(provider.refund(declined)).rejects.toThrow("no succeeded charge");
    await expect(provider.refund(randomUUID())).rejects.toThrow("no succeeded charge");
    expect((await findProviderCharge(bed.db.sql, declined))?.refunded_at).toBeNull();
  });
});
