// Who may read whose inbox (no BOLA): every /users/:id/notifications route answers a customer's token only for
// the customer's own id; another user's is 403 before anything is read or marked. Admins and services may act
// for any user. No token, or a token that does not verify, is 401 with a Bearer challenge.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { describeUserScopedRoutes } from "@storefront/shared/testing/auth-matrix";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { insertInboxRows } from "../db/inbox.ts";

const [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
let db: TestDatabase;
let app: ReturnType<typeof createApp>;
const ATTACKER = 1;
const VICTIM = 2;
/** An unread notification of the victim's: marking it read, were it let through, would show. */
let victimsNote: string;

beforeAll(async () => {
  db = await createTestDatabase("notifications_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
  const note = (i: number) => ({ event_id: `event-${i}`, type: "stock.back_in_stock", title: `Back in stock: product ${i}`, body: "", payload: { product_id: i } });
  await insertInboxRows(db.sql, note(1), [ATTACKER, VICTIM]);
  await insertInboxRows(db.sql, note(2), [VICTIM]);
  const [row] = await db.sql<{ id: string }[]>`select id from inbox where user_id = ${VICTIM} and event_id = 'event-2'`;
  victimsNote = row!.id;
});
afterAll(() => db?.drop());

describeUserScopedRoutes(
  {
    request: (path, init) => app.request(path, init),
    issuer,
    stranger,
    /** Every inbox row, read or not: what a refused request must leave as it was. */
    snapshot: async () => ({ inbox: [...(await db.sql`select * from inbox order by id`)] }),
  },
  {
    attacker: ATTACKER,
    victim: VICTIM,
    // A refusal must not show a single one of the victim's notifications.
    secret: "Back in stock",
    // Every user-scoped route; the invalid path is one that would be a 400 for a caller allowed to ask.
    routes: [
      {
        name: "GET /users/:id/notifications",
        method: "GET",
        path: () => `/users/${VICTIM}/notifications`,
        invalid: [{ path: () => `/users/${VICTIM}/notifications?limit=0` }],
        ok: [200],
        // Newest first.
        answer: () => ["Back in stock: product 2", "Back in stock: product 1"].map((title) => expect.objectContaining({ title })),
      },
      {
        name: "POST /users/:id/notifications/:nid/read",
        method: "POST",
        path: () => `/users/${VICTIM}/notifications/${victimsNote}/read`,
        invalid: [{ path: () => `/users/${VICTIM}/notifications/abc/read` }],
        ok: [200],
      },
    ],
  },
);

test("the victim's notification was marked read only by the allowed callers", async () => {
  const [row] = await db.sql`select read_at from inbox where id = ${victimsNote}`;
  expect(row!.read_at).toBeInstanceOf(Date);
});
