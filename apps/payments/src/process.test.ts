// The real service as a process on a real socket: a caller giving up does not stop its charge, a SIGKILL
// mid-charge loses nothing and charges once after a restart, bad input does not take it down, and a bad
// setting stops the start-up with a line naming it. Needs TEST_DATABASE_URL: the test reads the process's
// database (provider_charges) directly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { pollUntil } from "../../../tests/support/poll.ts";
import { runPaymentsToExit, startJwksStub, startPayments, type PaymentsProcess } from "./testing/payments-process.ts";

const withDatabase = Boolean(process.env.TEST_DATABASE_URL);

describe.skipIf(!withDatabase)("the payments process, running", () => {
  let db: TestDatabase;
  let jwks: ReturnType<typeof startJwksStub>;
  let service: PaymentsProcess;
  let env: Record<string, string>;
  let asService: Record<string, string>;
  let orderId = 7000;

  beforeAll(async () => {
    const issuer = await createTestIssuer();
    asService = await issuer.auth("orders", "service");
    jwks = startJwksStub(issuer.jwks);
    db = await createTestDatabase("payments_process");
    env = { PAYMENTS_DATABASE_URL: db.url, USERS_URL: jwks.url, PAYMENT_PROCESSING_LEASE_MS: "500" };
    service = await startPayments(env);
  });

  afterAll(async () => {
    await service?.stop();
    await jwks?.stop();
    await db?.drop();
  });

  const charge = (key: string, body: object, init: RequestInit = {}) =>
    fetch(`${service.url}/payments`, {
      method: "POST",
      ...init,
      headers: { ...asService, "content-type": "application/json", "idempotency-key": key, connection: "close" },
      body: JSON.stringify(body),
    });

  const statusesOf = async (order: number) => {
    const res = await fetch(`${service.url}/payments?order_id=${order}`, { headers: { ...asService, connection: "close" } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { payment_id: string; status: string }[]).map((p) => p.status);
  };

  const expectServing = async () => {
    expect(service.proc.exitCode).toBeNull();
    expect((await fetch(`${service.url}/health`, { headers: { connection: "close" } })).status).toBe(200);
  };

  test("a caller aborting a tok_slow charge after 500 ms: the process stays up, the payment shows processing, then succeeded", async () => {
    const order = ++orderId;
    const key = `order-${order}-charge`;
    const body = { order_id: order, amount_cents: 1999, card_token: "tok_slow" };
    const caller = AbortSignal.timeout(500);
    const gaveUp = await charge(key, body, { signal: caller }).then(
      (res) => `answered ${res.status}`,
      (err: Error) => err.name,
    );
    expect(gaveUp).toBe("TimeoutError");

    // Poll the order's payments until decided, recording each state seen; [] only while the request was still arriving.
    const seen: string[] = [];
    await pollUntil("the aborted charge to be stored", 10_000, async () => {
      const [status = "none"] = await statusesOf(order);
      if (seen.at(-1) !== status) seen.push(status);
      return status === "succeeded" ? true : undefined;
    });
    expect(seen.filter((s) => s !== "none")).toEqual(["processing", "succeeded"]);
    await expectServing();

    // Asking again with the key finds the stored charge.
    const replay = await charge(key, body);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const [ledger] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from provider_charges c join payments p on p.id = c.payment_id where p.order_id = ${order}`;
    expect(ledger!.n).toBe(1);
  });

  test("malformed JSON, a huge body, a bad key: 4xx in the envelope, and the process keeps serving", async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${service.url}/payments`, {
        method: "POST",
        headers: { ...asService, "content-type": "application/json", "idempotency-key": `bad-${randomUUID()}`, connection: "close", ...headers },
        body,
      });
    const malformed = await post('{"order_id": 1, "amount_cents":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error.code).toBe("BAD_REQUEST");

    const huge = await post(JSON.stringify({ order_id: 1, amount_cents: 5, card_token: "x".repeat(300_000) }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as any).error.code).toBe("PAYLOAD_TOO_LARGE");

    const badKey = await post(JSON.stringify({ order_id: 1, amount_cents: 5, card_token: "tok_visa" }), { "idempotency-key": "has space" });
    expect(badKey.status).toBe(400);
    const text = await badKey.text();
    expect(JSON.parse(text).error.code).toBe("BAD_REQUEST");
    expect(text).not.toContain("    at ");

    await expectServing();
    expect(await statusesOf(1)).toEqual([]);
  });

  test("SIGKILL during a tok_slow charge, then a restart: the row is processing; after the lease the same key charges once", async () => {
    const order = ++orderId;
    const key = `order-${order}-charge`;
    const body = { order_id: order, amount_cents: 2500, card_token: "tok_slow" };
    const cut = charge(key, body).then(
      (res) => `answered ${res.status}`,
      (err: Error) => err.name, // the connection dies with the process
    );
    await pollUntil("the charge to start", 5_000, async () => ((await statusesOf(order))[0] === "processing" ? true : undefined));
    service.proc.kill("SIGKILL");
    await service.exitWithin(10_000);
    expect(await cut).not.toStartWith("answered");

    service = await startPayments(env);
    expect(await statusesOf(order)).toEqual(["processing"]);
    const [crashed] = await db.sql<{ id: string }[]>`select id from payments where order_id = ${order}`;

    // 409 PAYMENT_IN_PROGRESS only until the dead process's 500 ms lease has run out; then this request takes over.
    const answer = await pollUntil("the retry to take the charge over", 15_000, async () => {
      const res = await charge(key, body);
      if (res.status === 409) return undefined;
      return { status: res.status, body: (await res.json()) as any };
    }, 200);
    expect(answer).toEqual({ status: 201, body: { payment_id: crashed!.id, order_id: order, amount_cents: 2500, status: "succeeded" } });
    expect(await statusesOf(order)).toEqual(["succeeded"]);
    const ledger = await db.sql`select payment_id from provider_charges where payment_id = ${crashed!.id}`;
    expect(ledger).toHaveLength(1);
    await expectServing();
  });
});

describe("start-up refused with a line naming the setting", () => {
  test.each([
    ["PAYMENT_FAIL_RATE", "2"],
    ["PAYMENT_FAIL_RATE", "lots"],
    ["PAYMENT_DELAY_MS", "fast"],
    ["PAYMENT_PROCESSING_LEASE_MS", "0"],
  ])("%s=%s: exits 1", async (name, value) => {
    const { code, output } = await runPaymentsToExit({ [name]: value });
    expect(code).toBe(1);
    expect(output).toContain(name);
    expect(output).toContain("invalid configuration");
    expect(output).not.toContain("    at ");
  });
});
