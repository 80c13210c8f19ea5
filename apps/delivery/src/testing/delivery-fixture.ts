// A delivery service for tests: a fresh database with the migrations, the app on a test issuer's tokens, the
// relay's wakes counted, and helpers that put a delivery into any state through the real moves and read back
// the row, its history and the outbox.
import { fileURLToPath } from "node:url";
import postgres, { type Sql } from "postgres";
import { migrate } from "@storefront/shared/db/migrate";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { createDelivery, moveDelivery, type DeliveryRow } from "../db/deliveries.ts";
import type { Move } from "../state-machine.ts";

export const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

/** The seeded couriers: courier 1 is user 7, courier 2 is user 8. */
export const COURIER_ONE = { courier_id: 1, user_id: 7, name: "Courier One" } as const;
export const COURIER_TWO = { courier_id: 2, user_id: 8, name: "Courier Two" } as const;
export const ADDRESS = { name: "Ada Lovelace", line1: "1 Analytical Way", city: "London", postal_code: "N1 9GU", country: "GB" };

/** The states a test can ask for; "assigned" is activated with courier 1, "done" is courier 1's. */
export const SETUPS = ["created", "activated", "assigned", "done", "canceled"] as const;
export type Setup = (typeof SETUPS)[number];

export type Caller = { sub: number | string; role: Role };
export const ADMIN: Caller = { sub: 6, role: "admin" };
export const asCourier = (courier: { user_id: number }): Caller => ({ sub: courier.user_id, role: "courier" });

export type DeliveryFixture = Awaited<ReturnType<typeof deliveryFixture>>;

/** `pool`: with a real server, a pool of that many connections for the app (the fixture's own stays small). */
export async function deliveryFixture(label: string, options: { pool?: number } = {}) {
  const db: TestDatabase = await createTestDatabase(label);
  await migrate(db.sql, migrations);
  const appSql: Sql = options.pool && process.env.TEST_DATABASE_URL ? postgres(db.url, { max: options.pool, onnotice: () => {} }) : db.sql;
  const issuer: TestIssuer = await createTestIssuer();
  let wakes = 0;
  const app = createApp({ sql: appSql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
  let nextOrder = 1000;

  const move = (orderId: number, m: Move, by = "test") => db.sql.begin((tx) => moveDelivery(tx, orderId, m, by));

  /** A new delivery for a new order, taken to `setup` through the real moves. */
  async function seed(setup: Setup, userId = 42): Promise<number> {
    const orderId = nextOrder++;
    await db.sql.begin((tx) => createDelivery(tx, { order_id: orderId, user_id: userId, shipping_address: ADDRESS, delivery_date: "2031-05-04" }, "test"));
    const steps: Record<Setup, Move[]> = {
      created: [],
      activated: [{ action: "activate" }],
      assigned: [{ action: "activate" }, { action: "assign", courier: COURIER_ONE }],
      done: [{ action: "activate" }, { action: "assign", courier: COURIER_ONE }, { action: "complete", courier_id: COURIER_ONE.courier_id }],
      canceled: [{ action: "cancel", reason: "test" }],
    };
    for (const step of steps[setup]) {
      const result = await move(orderId, step);
      if (result.outcome !== "applied") throw new Error(`seeding ${setup}: ${JSON.stringify(result)}`);
    }
    return orderId;
  }

  const fixture = {
    db,
    sql: db.sql,
    app,
    issuer,
    wakes: () => wakes,
    seed,
    move,
    /** Forgets the outbox and the wakes so far: a test then sees only what it caused. */
    async resetOutbox() {
      await db.sql`delete from outbox`;
      wakes = 0;
    },
    async row(orderId: number): Promise<(DeliveryRow & { updated_at: Date }) | undefined> {
      const [row] = await db.sql<(DeliveryRow & { updated_at: Date })[]>`
        select order_id, user_id, status, courier_id, version, updated_at from deliveries where order_id = ${orderId}`;
      return row;
    },
    history: async (orderId: number) => [
      ...(await db.sql<{ from_status: string | null; to_status: string; courier_id: number | null; by: string }[]>`
        select from_status, to_status, courier_id, by from delivery_history where order_id = ${orderId} order by id`),
    ],
    outbox: async () => [...(await db.sql<{ type: string; payload: unknown }[]>`select type, payload from outbox order by created_at, id`)],
    /** Sends a request as `caller` (no token when null); the body as JSON, the answer parsed. */
    async call(method: string, path: string, caller: Caller | null, body?: unknown) {
      const headers: Record<string, string> = caller ? await issuer.auth(caller.sub, caller.role) : {};
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
    },
    async close() {
      if (appSql !== db.sql) await appSql.end({ timeout: 5 });
      await db.drop();
    },
  };
  return fixture;
}
