// Bad input on every route: a 400 (or 404 for an id that names no payment) in the envelope, no stack trace,
// and nothing written: no payment row, no provider charge, no refund.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { buildApp, createTestbed, nextOrderId, postCharge, type App, type CountingProvider, type Testbed } from "../testing/payments-app.ts";

let bed: Testbed;
let app: App;
let provider: CountingProvider;
beforeAll(async () => {
  bed = await createTestbed("payments_input");
}, 60_000);
afterAll(() => bed?.db.drop());
beforeEach(() => {
  ({ app, provider } = buildApp(bed));
});

const everything = async () => ({
  payments: [...(await bed.db.sql`select * from payments order by id`)],
  ledger: [...(await bed.db.sql`select * from provider_charges order by payment_id`)],
});

async function expectRefused(res: Response, status = 400, code = "BAD_REQUEST") {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(text).not.toContain("    at ");
  expect(text.length).toBeLessThan(2000); // no echo of a huge input
}

const good = () => ({ order_id: nextOrderId(), amount_cents: 1000, card_token: "tok_visa" });

describe("POST /payments", () => {
  const badKeys: [string, Record<string, string>][] = [
    ["no Idempotency-Key", {}],
    ["an empty key", { "idempotency-key": "" }],
    ["a key with a space", { "idempotency-key": "order 1" }],
    ["a key with a tab", { "idempotency-key": "order\t1" }],
    ["a non-ASCII key", { "idempotency-key": "ordér-1" }],
    ["a key of 256 characters", { "idempotency-key": "k".repeat(256) }],
  ];
  for (const [name, headers] of badKeys) {
    test(`${name}: 400, nothing written`, async () => {
      const before = await everything();
      const res = await app.request("/payments", {
        method: "POST",
        headers: { ...bed.asService, "content-type": "application/json", ...headers },
        body: JSON.stringify(good()),
      });
      await expectRefused(res);
      expect(await everything()).toEqual(before);
    });
  }

  test("a key of 255 visible characters is fine", async () => {
    expect((await postCharge(app, bed, "~".repeat(255), good())).status).toBe(201);
  });

  const badBodies: [string, unknown][] = [
    ["an empty object", {}],
    ["an array", [good()]],
    ["null", null],
    ["a string", "tok_visa"],
    ["no order_id", { amount_cents: 1000, card_token: "tok_visa" }],
    ["no amount_cents", { order_id: 1, card_token: "tok_visa" }],
    ["no card_token", { order_id: 1, amount_cents: 1000 }],
    ["an extra field", { ...good(), currency: "EUR" }],
    ["order_id 0", { ...good(), order_id: 0 }],
    ["a negative order_id", { ...good(), order_id: -4 }],
    ["a fractional order_id", { ...good(), order_id: 1.5 }],
    ["order_id as a string", { ...good(), order_id: "12" }],
    ["order_id above int4", { ...good(), order_id: 2_147_483_648 }],
    ["amount_cents 0", { ...good(), amount_cents: 0 }],
    ["a negative amount", { ...good(), amount_cents: -100 }],
    ["a fractional amount", { ...good(), amount_cents: 10.5 }],
    ["amount_cents above 100_000_000", { ...good(), amount_cents: 100_000_001 }],
    ["amount_cents as a string", { ...good(), amount_cents: "1000" }],
    ["an empty card_token", { ...good(), card_token: "" }],
    ["a card_token of 65 characters", { ...good(), card_token: "t".repeat(65) }],
    ["a card_token with a NUL", { ...good(), card_token: "tok_\u0000visa" }],
    ["a card_token that is a number", { ...good(), card_token: 4242 }],
    ["a huge card_token", { ...good(), card_token: "x".repeat(50_000) }],
  ];
  for (const [name, body] of badBodies) {
    test(`${name}: 400, nothing written`, async () => {
      const before = await everything();
      await expectRefused(await postCharge(app, bed, `input-${crypto.randomUUID()}`, JSON.stringify(body)));
      expect(await everything()).toEqual(before);
      expect(provider.charges).toBe(0);
    });
  }

  test("the largest amount is accepted", async () => {
    expect((await postCharge(app, bed, `input-${crypto.randomUUID()}`, { ...good(), amount_cents: 100_000_000 })).status).toBe(201);
  });

  test("malformed JSON, no body, or a body that is not JSON: 400, nothing written", async () => {
    const before = await everything();
    const key = `input-${crypto.randomUUID()}`;
    await expectRefused(await postCharge(app, bed, key, '{"order_id": 1, "amount_cents":'));
    await expectRefused(await postCharge(app, bed, key, ""));
    await expectRefused(
      await app.request("/payments", {
        method: "POST",
        headers: { ...bed.asService, "content-type": "text/plain", "idempotency-key": key },
        body: "order_id=1&amount_cents=5&card_token=tok_visa",
      }),
    );
    expect(await everything()).toEqual(before);
  });

  test("a body over the limit: 413 PAYLOAD_TOO_LARGE, nothing written", async () => {
    const before = await everything();
    await expectRefused(await postCharge(app, bed, `input-${crypto.randomUUID()}`, JSON.stringify({ ...good(), card_token: "x".repeat(100_000) })), 413, "PAYLOAD_TOO_LARGE");
    expect(await everything()).toEqual(before);
  });

  test("a bad key with a bad body: still one 400, nothing written", async () => {
    const before = await everything();
    const res = await app.request("/payments", { method: "POST", headers: { ...bed.asService, "content-type": "application/json" }, body: "{}" });
    await expectRefused(res);
    expect(await everything()).toEqual(before);
  });
});

describe("GET /payments?order_id=", () => {
  for (const query of ["", "?order_id=", "?order_id=0", "?order_id=-1", "?order_id=abc", "?order_id=1.5", "?order_id=01", "?order_id=99999999999", "?order_id=1&x=2", "?id=1"]) {
    test(`"${query}": 400`, async () => {
      await expectRefused(await app.request(`/payments${query}`, { headers: bed.asService }));
    });
  }
});

describe("GET /payments/:id and POST /payments/:id/refund", () => {
  for (const id of ["abc", "1", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000", "zzzzzzzz-0000-0000-0000-000000000000"]) {
    test(`a malformed id "${id}": 404 NOT_FOUND, nothing written`, async () => {
      const before = await everything();
      await expectRefused(await app.request(`/payments/${id}`, { headers: bed.asService }), 404, "NOT_FOUND");
      await expectRefused(await app.request(`/payments/${id}/refund`, { method: "POST", headers: bed.asService }), 404, "NOT_FOUND");
      expect(await everything()).toEqual(before);
    });
  }

  test("a refund with a body other than {}: 400, the payment not refunded", async () => {
    const paid = (await (await postCharge(app, bed, `input-${crypto.randomUUID()}`, good())).json()) as { payment_id: string };
    const before = await everything();
    for (const body of ['{"amount_cents": 5}', "[]", "null", '"x"', "{", "5"]) {
      const res = await app.request(`/payments/${paid.payment_id}/refund`, {
        method: "POST",
        headers: { ...bed.asService, "content-type": "application/json" },
        body,
      });
      await expectRefused(res);
    }
    expect(await everything()).toEqual(before);
    expect(provider.refunds).toBe(0);
  });
});
