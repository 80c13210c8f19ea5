// What the reservation tests share: a migrated test database, the app on it (acting as the orders service,
// with a service token), and helpers to call the routes and read the stock, the reservations and the outbox.
import { fileURLToPath } from "node:url";
import postgres, { type Sql } from "postgres";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

export const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

export type Answer = { status: number; body: any };
export type Item = { product_id: number; quantity: number };

export type ReservationsFixture = {
  db: TestDatabase;
  /** The pool the app uses: the test database's, or a wider one of the same database for concurrency tests. */
  sql: Sql;
  issuer: TestIssuer;
  app: ReturnType<typeof createApp>;
  wakes(): number;
  resetWakes(): void;
  /** Sends as the orders service; `body` as JSON, a string as-is with a JSON content type. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  reserve(orderId: number, items: Item[]): Promise<Answer>;
  commit(orderId: number): Promise<Answer>;
  release(orderId: number): Promise<Answer>;
  /** Sets a product's stock directly: on hand, nothing reserved. */
  setStock(productId: number, onHand: number): Promise<void>;
  stock(productId: number): Promise<{ on_hand: number; reserved: number; available: number } | null>;
  /** Makes the order's active reservation due, as if its TTL had run out. */
  makeDue(orderId: number): Promise<void>;
  events(): Promise<{ type: string; payload: any }[]>;
  close(): Promise<void>;
};

/** `pool`: connections for the app's own pool (default: the test database's, 4 on a server, 1 embedded). */
export async function reservationsFixture(name: string, options: { ttlMs?: number; pool?: number } = {}): Promise<ReservationsFixture> {
  const db = await createTestDatabase(name);
  await migrate(db.sql, migrations);
  const issuer = await createTestIssuer();
  const wide = options.pool && process.env.TEST_DATABASE_URL ? postgres(db.url, { max: options.pool, onnotice: () => {} }) : undefined;
  const sql = wide ?? db.sql;
  let wakes = 0;
  const app = createApp({ sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ }, reservationTtlMs: options.ttlMs });
  const asService = await issuer.auth("orders", "service");

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = asService): Promise<Answer> => {
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      init.headers = { ...headers, "content-type": "application/json" };
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  return {
    db,
    sql,
    issuer,
    app,
    wakes: () => wakes,
    resetWakes: () => void (wakes = 0),
    call,
    reserve: (orderId, items) => call("POST", "/reservations", { order_id: orderId, items }),
    commit: (orderId) => call("POST", `/reservations/${orderId}/commit`),
    release: (orderId) => call("POST", `/reservations/${orderId}/release`),
    async setStock(productId, onHand) {
      await db.sql`
        insert into stock (product_id, inventory, reserved) values (${productId}, ${onHand}, 0)
        on conflict (product_id) do update set inventory = excluded.inventory, reserved = 0`;
    },
    async stock(productId) {
      const [row] = await db.sql<{ on_hand: number; reserved: number; available: number }[]>`
        select inventory as on_hand, reserved, inventory - reserved as available from stock where product_id = ${productId}`;
      return row ?? null;
    },
    async makeDue(orderId) {
      await db.sql`update reservations set expires_at = now() - interval '1 second' where order_id = ${orderId}`;
    },
    events: async () => [...(await db.sql<{ type: string; payload: any }[]>`select type, payload from outbox order by created_at, id`)],
    async close() {
      await wide?.end({ timeout: 5 });
      await db.drop();
    },
  };
}
