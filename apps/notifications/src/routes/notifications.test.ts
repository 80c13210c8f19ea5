import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { insertInboxRows, recordWebhookDelivery, type Notification } from "../db/inbox.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
/** These tests are about what the routes do, so they act as an admin (any user's inbox); notifications-auth.test.ts is about who may. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

const note = (i: number): Notification => ({
  event_id: `event-${i}`,
  type: "stock.back_in_stock",
  title: `Back in stock: product ${i}`,
  body: `Product ${i} is back in stock.`,
  payload: { product_id: i, inventory: 3 },
});

beforeAll(async () => {
  db = await createTestDatabase("notifications_http");
  await migrate(db.sql, migrations);
  const issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
  // User 1 gets 25 notifications (events 1..25, in that order), user 2 gets event 1; a webhook record too.
  for (let i = 1; i <= 25; i++) await insertInboxRows(db.sql, note(i), i === 1 ? [1, 2] : [1]);
  await recordWebhookDelivery(db.sql, note(1), 1);
});
afterAll(() => db.drop());

const call = async (method: string, path: string) => {
  const res = await app.request(path, { method, headers: asAdmin });
  return { status: res.status, body: (await res.json()) as any };
};
const titles = (body: { title: string }[]) => body.map((n) => n.title);
const inboxRows = () => db.sql`select id, user_id, channel, read_at from inbox order by id`;

describe("GET /users/:id/notifications", () => {
  test("newest first, 20 by default, inbox rows only, in the documented shape", async () => {
    const { status, body } = await call("GET", "/users/1/notifications");
    expect(status).toBe(200);
    expect(body).toHaveLength(20);
    expect(titles(body).slice(0, 2)).toEqual(["Back in stock: product 25", "Back in stock: product 24"]);
    expect(Object.keys(body[0]).sort()).toEqual(["body", "created_at", "id", "payload", "read_at", "title", "type"]);
    expect(body[0]).toMatchObject({ type: "stock.back_in_stock", payload: { product_id: 25, inventory: 3 }, read_at: null });
    expect(typeof body[0].id).toBe("number");
    expect(new Date(body[0].created_at).getTime()).not.toBeNaN();
  });

  test("keyset pages with before = the last id seen cover everything once, without the webhook record", async () => {
    const seen: string[] = [];
    let before: number | undefined;
    for (;;) {
      const { body } = await call("GET", `/users/1/notifications?limit=7${before ? `&before=${before}` : ""}`);
      if (body.length === 0) break;
      seen.push(...titles(body));
      before = body.at(-1).id;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `Back in stock: product ${25 - i}`));
  });

  test("limit 100 is the largest page; a user with nothing gets []", async () => {
    expect((await call("GET", "/users/1/notifications?limit=100")).body).toHaveLength(25);
    expect(await call("GET", "/users/99/notifications")).toEqual({ status: 200, body: [] });
  });

  test("each user sees only their own", async () => {
    const { body } = await call("GET", "/users/2/notifications");
    expect(titles(body)).toEqual(["Back in stock: product 1"]);
  });
});

describe("POST /users/:id/notifications/:nid/read", () => {
  test("sets read_at, answers the notification, and a second call keeps the first read_at", async () => {
    const [latest] = (await call("GET", "/users/1/notifications?limit=1")).body;
    const first = await call("POST", `/users/1/notifications/${latest.id}/read`);
    const readAt: string = first.body.read_at;
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ...latest, read_at: readAt });
    expect(new Date(readAt).getTime()).not.toBeNaN();
    const again = await call("POST", `/users/1/notifications/${latest.id}/read`);
    expect(again).toEqual({ status: 200, body: { ...latest, read_at: readAt } });
    expect((await call("GET", "/users/1/notifications?limit=1")).body[0].read_at).toBe(readAt);
  });

  test("another user's notification is 404 and stays unread", async () => {
    const [theirs] = (await call("GET", "/users/2/notifications")).body;
    const before = await inboxRows();
    const res = await call("POST", `/users/1/notifications/${theirs.id}/read`);
    expect(res).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: `notification ${theirs.id} not found` } } });
    expect(await inboxRows()).toEqual(before);
  });

  test("an id that does not exist, and the webhook record's id, are 404", async () => {
    expect((await call("POST", "/users/1/notifications/999999/read")).status).toBe(404);
    const [webhookRow] = await db.sql`select id from inbox where channel = 'webhook'`;
    const res = await call("POST", `/users/1/notifications/${webhookRow!.id}/read`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
  });
});

describe("bad input is 400 in the envelope and writes nothing", () => {
  test.each([
    ["GET", "/users/0/notifications"],
    ["GET", "/users/abc/notifications"],
    ["GET", "/users/99999999999/notifications"],
    ["GET", "/users/1/notifications?limit=0"],
    ["GET", "/users/1/notifications?limit=101"],
    ["GET", "/users/1/notifications?limit=1.5"],
    ["GET", "/users/1/notifications?before=0"],
    ["GET", "/users/1/notifications?before=-4"],
    ["GET", "/users/1/notifications?before=abc"],
    ["GET", "/users/1/notifications?before=99999999999999999"],
    ["GET", "/users/1/notifications?page=2"],
    ["POST", "/users/0/notifications/1/read"],
    ["POST", "/users/1/notifications/0/read"],
    ["POST", "/users/1/notifications/abc/read"],
    ["POST", "/users/1/notifications/01/read"],
  ])("%s %s", async (method, path) => {
    const before = await inboxRows();
    const { status, body } = await call(method, path);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(body)).not.toContain("    at ");
    expect(await inboxRows()).toEqual(before);
  });
});

describe("health, readiness, unknown routes", () => {
  test("/health and /ready answer", async () => {
    expect(await call("GET", "/health")).toEqual({ status: 200, body: { status: "ok", service: "notifications" } });
    expect((await call("GET", "/ready")).status).toBe(200);
  });

  test("unknown route is 404 in the envelope", async () => {
    const { status, body } = await call("GET", "/users/1/notifications/1");
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });

  test("migrations are safe to run twice", async () => {
    expect(await migrate(db.sql, migrations)).toEqual([]);
  });
});
