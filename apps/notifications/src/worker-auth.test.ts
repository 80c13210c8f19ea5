// The worker's own identity: every call to favorites and cart carries a service token the users service issued;
// a token refused with 401 is dropped and a new one fetched on the job's retry; trouble with the worker's
// credentials (401, 403, a refused client secret) is retried with backoff and logged, never a dead letter at
// the first attempt, while the job's own 4xx (an unknown product) still ends it at once.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { UnrecoverableError } from "bullmq";
import { createServiceCredentials, ServiceCredentialsRefusedError, type ServiceCredentials } from "@storefront/shared/auth/service-credentials";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { createUpstreamClient } from "@storefront/shared/upstream/client";
import { UpstreamStatusError } from "@storefront/shared/upstream/errors";
import { createCartClient } from "./clients/cart.ts";
import { createFavoritesClient } from "./clients/favorites.ts";
import { startStubServices, STUB_CLIENT_ID, type StubServices } from "./testing/stub-services.ts";
import { newEvent, startHarness, waitFor, type Harness } from "./testing/worker-harness.ts";
import { asJobError } from "./worker.ts";

const redisUp = await requireRedis("notifications worker: service credentials");

describe("asJobError: what ends a job and what is retried", () => {
  test.each([400, 404, 409, 422])("the job's own request refused (%i): unrecoverable, a dead letter at once", (status) => {
    expect(asJobError(new UpstreamStatusError("favorites", status, null))).toBeInstanceOf(UnrecoverableError);
  });

  test.each([401, 403])("%i is about the worker's credentials, not the job: retried", (status) => {
    const error = new UpstreamStatusError("cart", status, null);
    expect(asJobError(error)).toBe(error);
  });

  test("the users service refusing the client secret: retried", () => {
    const error = new ServiceCredentialsRefusedError("refused");
    expect(asJobError(error)).toBe(error);
  });

  test.each([408, 429, 500, 503])("%i: retried, as before", (status) => {
    const error = new UpstreamStatusError("favorites", status, null);
    expect(asJobError(error)).toBe(error);
  });
});

describe("the favorites and cart clients", () => {
  let stubs: StubServices;
  let credentials: ServiceCredentials;
  let invalidations = 0;
  beforeAll(async () => {
    stubs = await startStubServices();
    stubs.favorites.set(3, [1, 2]);
    stubs.carts.set(4, 2);
  });
  afterAll(() => stubs?.stop());

  const fresh = () => {
    const real = createServiceCredentials({ users: createUpstreamClient("users", stubs.url), clientId: STUB_CLIENT_ID, clientSecret: stubs.serviceEnv.SERVICE_CLIENT_SECRET });
    invalidations = 0;
    credentials = { headers: real.headers, invalidate: () => (invalidations++, real.invalidate()) };
    return credentials;
  };
  const clients = {
    favorites: () => createFavoritesClient({ baseUrl: stubs.url, deadlineMs: 2000, credentials }),
    cart: () => createCartClient({ baseUrl: stubs.url, deadlineMs: 2000, credentials }),
  };
  const calls = {
    favorites: { call: () => clients.favorites().favoritedBy(3, 0, 10), answer: [1, 2], fail: (status: number) => (stubs.failWith = () => status) },
    cart: { call: () => clients.cart().cartLines(4), answer: 2, fail: (status: number) => (stubs.cartFailWith = () => status) },
  };
  afterEach(() => {
    stubs.failWith = undefined;
    stubs.cartFailWith = undefined;
  });

  test("the stubs refuse a call without a token (401) and a customer's token (403), so a pass below means a real check", async () => {
    const path = `${stubs.url}/products/3/favorited-by`;
    expect((await fetch(path)).status).toBe(401);
    expect((await fetch(path, { headers: await stubs.issuer.auth(1) })).status).toBe(403);
    expect((await fetch(`${stubs.url}/users/4/cart`, { headers: await stubs.issuer.auth(1) })).status).toBe(403);
  });

  describe.each(["favorites", "cart"] as const)("%s", (name) => {
    test("each call carries the worker's service token, fetched once and reused", async () => {
      fresh();
      const issuedBefore = stubs.issuedTokens.length;
      const callersBefore = stubs.callers.length;
      expect(await calls[name].call()).toEqual(calls[name].answer as never);
      expect(await calls[name].call()).toEqual(calls[name].answer as never);
      expect(stubs.callers.slice(callersBefore)).toEqual([
        expect.objectContaining({ status: "accepted", sub: STUB_CLIENT_ID, role: "service" }),
        expect.objectContaining({ status: "accepted", sub: STUB_CLIENT_ID, role: "service" }),
      ]);
      expect(stubs.issuedTokens.length - issuedBefore).toBe(1);
    });

    test("a 401 drops the token and rethrows; the next call fetches a new one and succeeds", async () => {
      fresh();
      await calls[name].call();
      stubs.revokeIssuedTokens();
      const issuedBefore = stubs.issuedTokens.length;
      const refused = await calls[name].call().catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(UpstreamStatusError);
      expect((refused as UpstreamStatusError).status).toBe(401);
      expect(invalidations).toBe(1);
      expect(await calls[name].call()).toEqual(calls[name].answer as never);
      expect(stubs.issuedTokens.length - issuedBefore).toBe(1);
    });

    test.each([403, 404, 503])("a %i keeps the token (it says nothing about the token's validity)", async (status) => {
      fresh();
      calls[name].fail(status);
      const refused = await calls[name].call().catch((err: unknown) => err);
      expect((refused as UpstreamStatusError).status).toBe(status);
      expect(invalidations).toBe(0);
    });
  });
});

describe.skipIf(!redisUp)("the worker with its service credentials", () => {
  let db: TestDatabase;
  let h: Harness | undefined;
  beforeAll(async () => {
    db = await createTestDatabase("notifications_worker_auth");
    await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(() => db?.drop());

  const recipients = async (eventId: string) => (await db.sql`select user_id from inbox where event_id = ${eventId} order by user_id`).map((r) => r.user_id);
  const backInStock = (product_id: number) => newEvent({ type: "stock.back_in_stock", payload: { product_id, inventory: 1 } });
  /** Retries a test can wait for: a fixed short backoff, and attempts enough that a slow machine never runs out. */
  const QUICK_RETRIES = { attempts: 20, backoff: { type: "fixed" as const, delay: 100 } };

  test("every call to favorites and cart carries a service token of the worker's that verifies", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: 50 });
    h.stubs.favorites.set(5, [1, 3]);
    h.stubs.carts.set(7, 2);
    const event = backInStock(5);
    expect((await h.settled((await h.add(event)).id!)).returnvalue).toEqual({ recipients: 2 });
    await h.settled((await h.add(newEvent({ type: "cart.changed", payload: { user_id: 7, items: 2 } }))).id!);
    await waitFor("the cart reminder", async () => (await db.sql`select 1 from inbox where user_id = 7`).length > 0);

    const paths = h.stubs.callers.map((c) => c.path);
    expect(paths).toContain("/products/5/favorited-by");
    expect(paths).toContain("/users/7/cart");
    expect(h.stubs.callers.every((c) => c.status === "accepted" && c.sub === STUB_CLIENT_ID && c.role === "service")).toBe(true);
    expect(h.stubs.issuedTokens).toHaveLength(1); // one exchange, cached for every call after
  });

  test("favorites refusing the token (401): a new token is fetched and the job completes on its retry", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(6, [2]);
    await h.settled((await h.add(backInStock(6))).id!);
    h.stubs.revokeIssuedTokens(); // as after a key rotation at the users service

    const event = backInStock(6);
    const job = await h.settled((await h.add(event, QUICK_RETRIES)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(2);
    expect(h.stubs.issuedTokens).toHaveLength(2);
    expect(h.stubs.callers.filter((c) => c.status === 401)).toHaveLength(1);
    expect(await recipients(event.event_id)).toEqual([2]);
    expect(h.logs.some((line) => line.includes("favorites refused the worker's service token (401)"))).toBe(true);
  });

  test("favorites answering 403 is retried, not a dead letter", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(8, [4]);
    let refusals = 1;
    h.stubs.failWith = () => (refusals-- > 0 ? 403 : undefined);
    const event = backInStock(8);
    const job = await h.settled((await h.add(event, QUICK_RETRIES)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(2);
    expect(await recipients(event.event_id)).toEqual([4]);
  });

  test("a client secret the users service refuses: logged as such and retried; once it is accepted the job completes", async () => {
    h = await startHarness({ sql: db.sql, clientSecret: "not-the-secret" });
    h.stubs.favorites.set(9, [5]);
    const event = backInStock(9);
    await h.add(event, QUICK_RETRIES);
    await waitFor("two refused attempts", async () => ((await h!.producer.getJob(event.event_id))?.attemptsMade ?? 0) >= 2);
    expect(await h.producer.getJobState(event.event_id)).not.toBe("failed");
    const refusedLines = h.logs.map((line) => JSON.parse(line)).filter((l) => l.msg.includes("refused the worker's client credentials"));
    expect(refusedLines.length).toBeGreaterThanOrEqual(2);
    expect(refusedLines[0]).toMatchObject({ level: "error", msg: expect.stringContaining("SERVICE_CLIENT_SECRET"), job_id: event.event_id });
    expect(h.stubs.callers).toEqual([]); // it never called favorites without a token

    h.stubs.serviceClients.set(STUB_CLIENT_ID, "not-the-secret"); // the setting is put right
    const job = await h.settled(event.event_id);
    expect(await job.getState()).toBe("completed");
    expect(await recipients(event.event_id)).toEqual([5]);
  });

  test("the job's own refusal still ends it at once: an unknown product (404) is a dead letter after one attempt", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.unknownProducts.add(404);
    const job = await h.settled((await h.add(backInStock(404), QUICK_RETRIES)).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
  });
});
