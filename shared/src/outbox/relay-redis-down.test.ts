// The relay through a Redis outage: a private redis-server on a free port (never the shared one) that the test
// kills and starts again. Events written meanwhile wait in the outbox and arrive, once each, when it is back.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../tests/support/free-ports.ts";
import { migrate } from "../db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { redisServerInstalled, startPrivateRedis, type PrivateRedis } from "../testing/test-redis.ts";
import { createEventQueues, type EventQueues } from "./event-queues.ts";
import { captureLogs } from "../testing/captured-logs.ts";
import { createOutboxRelay, type EventQueue, type OutboxRelay } from "./relay.ts";
import { writeEvent } from "./write-event.ts";

if (!redisServerInstalled()) {
  if (process.env.CI === "true") throw new Error("CI=true: the Redis outage tests need redis-server on PATH");
  console.warn("skipping the Redis outage tests: redis-server is not installed (Debian package redis-server)");
}

let db: TestDatabase;
let redis: PrivateRedis | undefined;
let notifications: EventQueues | undefined;
let relay: OutboxRelay | undefined;

beforeAll(async () => {
  db = await createTestDatabase("outbox_outage");
  await migrate(db.sql, fileURLToPath(new URL(".", import.meta.url)));
});
afterAll(() => db?.drop());
afterEach(async () => {
  await relay?.stop();
  await notifications?.close();
  await redis?.stop();
  relay = notifications = redis = undefined;
  await db.sql`delete from outbox`;
});

const write = (user_id: number) => db.sql.begin((tx) => writeEvent(tx, { type: "cart.changed", payload: { user_id, items: 1 } }));
const pending = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n;

async function eventually(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(25);
  }
}

/** A relay on the private Redis, with its log lines and its publish attempts counted. */
function startRelay(url: string) {
  notifications = createEventQueues({ redisUrl: url, prefix: "outage" });
  const queue = notifications.queues.notifications!;
  const { logger, lines } = captureLogs("relay");
  let attempts = 0;
  const counted: EventQueue = {
    waitUntilReady: () => queue.waitUntilReady(),
    addBulk: (jobs) => {
      attempts++;
      return queue.addBulk(jobs);
    },
  };
  // Default backoff (at most 2 s between attempts); a short poll only so the test's first event goes quickly.
  relay = createOutboxRelay({ sql: db.sql, queues: { notifications: counted }, subscriptions: { "cart.changed": ["notifications"] }, pollMs: 100, logger });
  relay.start();
  return { queue, lines, attempts: () => attempts, warnings: () => lines.filter((l) => l.level === "warn").map(({ level, msg }) => ({ level, msg })) };
}

describe.skipIf(!redisServerInstalled())("outbox relay while Redis is down", () => {
  test("events written during the outage stay in the outbox, then arrive once each within seconds of Redis coming back", async () => {
    redis = await startPrivateRedis(freePort());
    const { queue, lines, attempts, warnings } = startRelay(redis.url);
    await write(1);
    await eventually(async () => (await queue.count()) === 1, 5000, "the first event before the outage");

    await redis.stop();
    const ids = [await write(2), await write(3), await write(4)];
    relay!.wake(); // what a request path does after its commit; it must not turn into a tight retry loop

    // Several failed attempts: the rows stay unpublished, the relay keeps going, and said so once.
    const before = attempts();
    await eventually(() => attempts() >= before + 3, 10_000, "three retries during the outage");
    expect(await pending()).toBe(3);
    expect(warnings()).toEqual([{ level: "warn", msg: "notifications wait in the outbox until Redis is reachable" }]);

    // No persistence: the restarted server is empty, so exactly the three pending jobs must appear.
    await redis.start();
    await eventually(async () => (await pending()) === 0, 8000, "the pending events published after Redis came back");
    const jobs = await queue.getJobs(["waiting"]);
    expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(await queue.count()).toBe(3);
    expect(lines.filter((l) => l.level === "info")).toHaveLength(1);
    expect(lines.at(-1)!.msg).toContain("Redis is reachable again");
  });

  test("a relay that starts while Redis is down waits for it, holding no transaction, and publishes once it is up", async () => {
    const port = freePort();
    const { queue, warnings } = startRelay(`redis://127.0.0.1:${port}`);
    const id = await write(5);
    // Sampled across the relay's first wait for Redis and its retry: the row is never held by a relay
    // transaction (with the embedded database's single connection, that would hold up every request).
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const lockable = await db.sql.begin((tx) => tx`select id from outbox where id = ${id} for update skip locked`);
      expect(lockable.map((r) => r.id)).toEqual([id]);
      await Bun.sleep(100);
    }
    expect(warnings()).toHaveLength(1);
    expect(await pending()).toBe(1);

    redis = await startPrivateRedis(port);
    await eventually(async () => (await pending()) === 0, 8000, "the event published after Redis came up");
    expect((await queue.getJobs(["waiting"])).map((j) => j.id)).toEqual([id]);
  });
});
