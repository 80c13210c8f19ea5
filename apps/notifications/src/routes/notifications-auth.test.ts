// Who may read whose inbox (no BOLA): every /users/:id/notifications route answers a customer's token only for
// the customer's own id; another user's is 403 before anything is read or marked. Admins and services may act
// for any user. No token, or a token that does not verify, is 401 with a Bearer challenge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import type { Role } from "@storefront/shared/auth/identity";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { insertInboxRows } from "../db/inbox.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let issuer: TestIssuer;
/** Signs with a key the app does not trust: a token from somewhere else. */
let stranger: TestIssuer;
const ATTACKER = 1;
const VICTIM = 2;
/** An unread notification of the victim's: marking it read, were it let through, would show. */
let victimsNote: string;

beforeAll(async () => {
  db = await createTestDatabase("notifications_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
  const note = (i: number) => ({ event_id: `event-${i}`, type: "stock.back_in_stock", title: `Back in stock: product ${i}`, body: "", payload: { product_id: i } });
  await insertInboxRows(db.sql, note(1), [ATTACKER, VICTIM]);
  await insertInboxRows(db.sql, note(2), [VICTIM]);
  const [row] = await db.sql<{ id: string }[]>`select id from inbox where user_id = ${VICTIM} and event_id = 'event-2'`;
  victimsNote = row!.id;
});
afterAll(() => db?.drop());

type Route = { name: string; method: string; path: (userId: number) => string; invalidPath: (userId: number) => string; ok: number };
/** Every user-scoped route; the invalid path is one that would be a 400 for a caller allowed to ask. */
const ROUTES: Route[] = [
  {
    name: "GET /users/:id/notifications",
    method: "GET",
    path: (u) => `/users/${u}/notifications`,
    invalidPath: (u) => `/users/${u}/notifications?limit=0`,
    ok: 200,
  },
  {
    name: "POST /users/:id/notifications/:nid/read",
    method: "POST",
    path: (u) => `/users/${u}/notifications/${victimsNote}/read`,
    invalidPath: (u) => `/users/${u}/notifications/abc/read`,
    ok: 200,
  },
];

const send = async (route: Route, userId: number, headers: Record<string, string>, path = route.path(userId)) => {
  const res = await app.request(path, { method: route.method, headers });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: text ? (JSON.parse(text) as any) : null };
};

/** Every inbox row, read or not: what a refused request must leave as it was. */
const snapshot = async () => ({
  inbox: [...(await db.sql`select * from inbox order by id`)],
});

async function expectNothingChanged<T>(request: () => Promise<T>): Promise<T> {
  const before = await snapshot();
  const result = await request();
  expect(await snapshot()).toEqual(before);
  return result;
}

const token = (sub: string | number, role: Role = "customer") => issuer.auth(sub, role);

describe.each(ROUTES.map((route) => [route.name, route] as const))("%s", (_, route) => {
  test("another customer's token: 403 FORBIDDEN, nothing read or changed", async () => {
    const headers = await token(ATTACKER);
    const res = await expectNothingChanged(() => send(route, VICTIM, headers));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    expect(JSON.stringify(res.body)).not.toContain("Back in stock");
  });

  test("another customer's token with invalid input: still 403, not a validation message", async () => {
    const headers = await token(ATTACKER);
    const res = await expectNothingChanged(() => send(route, VICTIM, headers, route.invalidPath(VICTIM)));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });

  test("a courier's token: 403, couriers do not act for other users", async () => {
    const headers = await token(ATTACKER, "courier");
    expect((await expectNothingChanged(() => send(route, VICTIM, headers))).status).toBe(403);
  });

  test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
    const res = await expectNothingChanged(() => send(route, VICTIM, {}));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
    expect(res.challenge).toStartWith("Bearer");
  });

  test("the victim's own token signed by another issuer, or an admin's: 401, nothing changed", async () => {
    for (const headers of [await stranger.auth(VICTIM), await stranger.auth(1, "admin")]) {
      const res = await expectNothingChanged(() => send(route, VICTIM, headers));
      expect(res.status).toBe(401);
      expect(res.challenge).toStartWith("Bearer");
    }
  });

  test("the victim's own token once expired: 401, nothing changed", async () => {
    const headers = { authorization: `Bearer ${await issuer.token(VICTIM, "customer", -60)}` };
    expect((await expectNothingChanged(() => send(route, VICTIM, headers))).status).toBe(401);
  });

  test("the customer's own token: allowed", async () => {
    expect((await send(route, VICTIM, await token(VICTIM))).status).toBe(route.ok);
  });

  test("an admin's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token(99, "admin"))).status).toBe(route.ok);
  });

  test("a service's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token("notifications", "service"))).status).toBe(route.ok);
  });
});

test("what an allowed caller gets is the path's user's inbox, whoever asks", async () => {
  const mine = await send(ROUTES[0]!, VICTIM, await token(VICTIM));
  expect(mine.body.map((n: { title: string }) => n.title)).toEqual(["Back in stock: product 2", "Back in stock: product 1"]);
  expect((await send(ROUTES[0]!, VICTIM, await token("notifications", "service"))).body).toEqual(mine.body);
  expect((await send(ROUTES[0]!, VICTIM, await token(99, "admin"))).body).toEqual(mine.body);
});

test("the victim's notification was marked read only by the allowed callers", async () => {
  const [row] = await db.sql`select read_at from inbox where id = ${victimsNote}`;
  expect(row!.read_at).toBeInstanceOf(Date);
});
