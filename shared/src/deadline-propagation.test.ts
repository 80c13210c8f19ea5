import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { underDeadline } from "./deadline-propagation.ts";
import { createServiceApp } from "./service-app.ts";
import { createTestDatabase, type TestDatabase } from "./testing/test-database.ts";

/** A stand-in for a postgres.js query: settles after `ms`, or rejects when cancelled. */
function fakeQuery<T>(value: T, ms: number) {
  const state = { cancelled: false };
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((resolve, rej) => {
    reject = rej;
    setTimeout(() => resolve(value), ms);
  });
  return Object.assign(promise, {
    state,
    cancel() {
      state.cancelled = true;
      reject(new Error("canceling statement due to user request"));
    },
  });
}

function appWith(handlerMs: number) {
  const app = createServiceApp({ service: "demo", ready: async () => {} });
  const queries: ReturnType<typeof fakeQuery<string>>[] = [];
  app.route(
    "/",
    new Hono().get("/work", async (c) => {
      const q = fakeQuery("done", handlerMs);
      queries.push(q);
      return c.json({ result: await underDeadline(c, q) });
    }),
  );
  return { app, queries };
}

describe("x-deadline-ms", () => {
  test("no header: the work runs to the end", async () => {
    const { app } = appWith(30);
    const res = await app.request("/work");
    expect(await res.json()).toEqual({ result: "done" });
  });

  test("enough budget: the work runs to the end and nothing is cancelled", async () => {
    const { app, queries } = appWith(10);
    const res = await app.request("/work", { headers: { "x-deadline-ms": "500" } });
    expect(res.status).toBe(200);
    expect(queries[0]!.state.cancelled).toBe(false);
  });

  test("no budget left on arrival: 504 at once, no work started", async () => {
    const { app, queries } = appWith(10);
    const res = await app.request("/work", { headers: { "x-deadline-ms": "0" } });
    expect(res.status).toBe(504);
    expect(((await res.json()) as any).error.code).toBe("DEADLINE_EXCEEDED");
    expect(queries).toHaveLength(0);
  });

  test("budget runs out: 504 when it does, and the query is cancelled", async () => {
    const { app, queries } = appWith(5_000);
    const started = performance.now();
    const res = await app.request("/work", { headers: { "x-deadline-ms": "50" } });
    expect(res.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1_000);
    await Bun.sleep(5); // the cancel is sent a turn after the 504 is decided
    expect(queries[0]!.state.cancelled).toBe(true);
  });

  test("an unreadable header is ignored", async () => {
    const { app } = appWith(5);
    expect((await app.request("/work", { headers: { "x-deadline-ms": "soon" } })).status).toBe(200);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)("on a real Postgres", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("deadline");
  });
  afterAll(() => db.drop());

  test("a query that cannot finish in time is cancelled on the server", async () => {
    const app = createServiceApp({ service: "demo", ready: async () => {} });
    app.route("/", new Hono().get("/slow", async (c) => c.json(await underDeadline(c, db.sql`select pg_sleep(5) as slept, 'deadline-test' as tag`))));
    const res = await app.request("/slow", { headers: { "x-deadline-ms": "100" } });
    expect(res.status).toBe(504);
    // The server no longer runs it (cancel requests are asynchronous: allow a moment).
    let running = 1;
    for (let i = 0; i < 20 && running > 0; i++) {
      await Bun.sleep(25);
      const [row] = await db.sql`select count(*)::int as n from pg_stat_activity where query like '%deadline-test%' and state = 'active' and pid <> pg_backend_pid()`;
      running = row!.n;
    }
    expect(running).toBe(0);
  });
});
