// The relay's backlog as a metric: the count of unpublished rows after each pass, and the outbox_pending_events
// gauge startOutboxRelay registers on the service's registry. Real Postgres, real Redis (a prefix of its own).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "../db/migrate.ts";
import { createLogger } from "../observability/logger.ts";
import { Registry } from "../observability/metrics.ts";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "../testing/test-redis.ts";
import { createOutboxRelay, type EventQueue, type OutboxRelay } from "./relay.ts";
import { OUTBOX_PENDING_GAUGE, startOutboxRelay, type RunningOutboxRelay } from "./start-outbox-relay.ts";
import { writeEvent } from "./write-event.ts";

const redisUp = await requireRedis("outbox relay backlog");

let db: TestDatabase;
let prefix: string;
const relays: OutboxRelay[] = [];
const running: RunningOutboxRelay[] = [];

beforeAll(async () => {
  db = await createTestDatabase("outbox_pending");
  await migrate(db.sql, fileURLToPath(new URL(".", import.meta.url)));
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  prefix = uniquePrefix("outbox-pending");
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(running.splice(0).map((r) => r.close()));
  await deletePrefix(testRedisUrl, prefix);
});

const logger = createLogger("relay", "silent");
const write = (user_id: number) => db.sql.begin((tx) => writeEvent(tx, { type: "cart.changed", payload: { user_id, items: 1 } }));
/** Redis refusing every batch: the rows stay in the outbox. */
const refusing: EventQueue = { waitUntilReady: async () => {}, addBulk: async () => Promise.reject(new Error("Stream isn't writeable")) };

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(20);
  }
}

/** The gauge's sample in the registry's text, or undefined when it has none. */
const sample = (registry: Registry) => {
  const line = registry.render().split("\n").find((l) => l.startsWith(`${OUTBOX_PENDING_GAUGE} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
};

describe.skipIf(!redisUp)("the outbox backlog", () => {
  test("unknown before the first pass; after it, the rows Redis did not take, and more as they are written while it stays down", async () => {
    for (let user = 1; user <= 3; user++) await write(user);
    const relay = createOutboxRelay({ sql: db.sql, queues: { notifications: refusing }, subscriptions: { "cart.changed": ["notifications"] }, logger, maxBackoffMs: 50 });
    relays.push(relay);
    expect(relay.pendingEvents()).toBeNull();
    relay.start();
    await eventually(() => relay.pendingEvents() === 3, "three pending");
    await write(4);
    // Counted again on the next attempt (the backoff here), without anyone waking the relay.
    await eventually(() => relay.pendingEvents() === 4, "four pending");
  });

  test("an idle relay counts on its poll: rows left by someone else show up", async () => {
    const relay = createOutboxRelay({ sql: db.sql, queues: { notifications: refusing }, subscriptions: { "cart.changed": ["notifications"] }, logger, pollMs: 30 });
    relays.push(relay);
    relay.start();
    await eventually(() => relay.pendingEvents() === 0, "zero pending");
    // A row that is marked published by another instance never reaches this relay's queues; it still must not count.
    await db.sql`insert into outbox (type, payload, published_at) values ('cart.changed', '{"user_id":1,"items":1}', now())`;
    await db.sql`insert into outbox (type, payload) values ('cart.changed', '{"user_id":2,"items":1}')`;
    // The relay tries to publish the unpublished one (refused), then counts it.
    await eventually(() => relay.pendingEvents() === 1, "one pending");
  });

  test("startOutboxRelay puts the backlog on the service's registry as outbox_pending_events, with no labels, down to 0 once published", async () => {
    await write(1);
    await write(2);
    const registry = new Registry();
    running.push(startOutboxRelay({ sql: db.sql, logger, redisUrl: testRedisUrl, prefix, registry, relay: { pollMs: 30 } }));
    expect(registry.render()).toContain(`# TYPE ${OUTBOX_PENDING_GAUGE} gauge`);
    await eventually(() => sample(registry) === 0, "the gauge at 0");
    expect((await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n).toBe(0);
    expect(registry.render()).toMatch(new RegExp(`^${OUTBOX_PENDING_GAUGE} 0$`, "m"));
  });

  test("without a registry nothing is registered and the relay runs as before", async () => {
    await write(1);
    running.push(startOutboxRelay({ sql: db.sql, logger, redisUrl: testRedisUrl, prefix, relay: { pollMs: 30 } }));
    await eventually(async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n === 0, "published");
  });
});
