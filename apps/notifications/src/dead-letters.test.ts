import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis, testRedisUrl } from "@storefront/shared/testing/test-redis";
import { listDeadLetters, retryAllDeadLetters, retryDeadLetter } from "./dead-letters.ts";
import { newEvent, startHarness, type Harness } from "./testing/worker-harness.ts";

const redisUp = await requireRedis("notifications dead letters");
const script = fileURLToPath(new URL("./dead-letters.ts", import.meta.url));

let db: TestDatabase;
let h: Harness;
beforeAll(async () => {
  db = await createTestDatabase("notifications_dead");
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
});
afterEach(() => h?.close());
afterAll(() => db?.drop());

const rowsOf = async (eventId: string) => [...(await db.sql`select user_id from inbox where event_id = ${eventId} and channel = 'inbox' order by user_id`)];

/** The command as an operator runs it, from another directory, against this test's prefix. */
async function deadLetters(...args: string[]) {
  const proc = Bun.spawn([process.execPath, script, ...args], {
    cwd: "/",
    env: { ...process.env, REDIS_URL: testRedisUrl, QUEUE_PREFIX: h.prefix },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe.skipIf(!redisUp)("dead letters", () => {
  test("a job for an unknown product fails at once, is listed, and a retry runs it again with fresh attempts", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.unknownProducts.add(77);
    h.stubs.favorites.set(77, [4]);
    const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 77, inventory: 1 } });
    const failed = await h.settled((await h.add(event)).id!);
    expect(failed.attemptsMade).toBe(1);

    const letters = await listDeadLetters(h.producer);
    expect(letters).toEqual([
      { id: event.event_id, name: "stock.back_in_stock", attempts_made: 1, failed_reason: expect.stringContaining("404"), failed_at: expect.any(String) },
    ]);
    const listed = await deadLetters("list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${event.event_id}\tstock.back_in_stock\tattempts=1\t`);
    expect(listed.stdout).toContain("1 dead letter\n");

    // The cause is fixed (the product now exists); the operator retries it.
    h.stubs.unknownProducts.delete(77);
    const retried = await deadLetters("retry", event.event_id);
    expect(retried).toMatchObject({ code: 0, stdout: `retried ${event.event_id}\n` });
    const done = await h.settled(event.event_id);
    expect(await done.getState()).toBe("completed");
    expect(done.attemptsMade).toBe(1); // counted from zero again
    expect(await rowsOf(event.event_id)).toEqual([{ user_id: 4 }]);
    expect(await listDeadLetters(h.producer)).toEqual([]);
  });

  test("retry --all moves every dead letter back; unknown or not-failed ids are reported, exit 1", async () => {
    h = await startHarness({ sql: db.sql });
    const bad = [1, 2, 3].map((n) => ({ type: "stock.back_in_stock", payload: { product_id: -n }, event_id: `bad-${n}-${crypto.randomUUID()}`, occurred_at: new Date().toISOString() }) as any);
    for (const event of bad) await h.settled((await h.add(event)).id!);
    expect((await listDeadLetters(h.producer)).map((d) => d.id).sort()).toEqual(bad.map((e) => e.event_id).sort());

    // Stop the worker so the retried jobs stay where retry put them.
    await h.notifications.worker.close();
    const all = await deadLetters("retry", "--all");
    expect(all.code).toBe(0);
    expect(all.stdout).toContain("3 of 3 retried");
    expect(await h.producer.getWaitingCount()).toBe(3);
    expect(await listDeadLetters(h.producer)).toEqual([]);

    expect(await retryDeadLetter(h.producer, "no-such-job")).toEqual({ id: "no-such-job", retried: false, reason: "no such job" });
    expect(await retryDeadLetter(h.producer, bad[0].event_id)).toEqual({ id: bad[0].event_id, retried: false, reason: "job is waiting, not failed" });
    expect(await deadLetters("retry", "no-such-job")).toMatchObject({ code: 1, stdout: "not retried no-such-job: no such job\n" });
    expect(await retryAllDeadLetters(h.producer)).toEqual([]);
  });

  test("usage errors exit 2 with the usage line", async () => {
    h = await startHarness({ sql: db.sql });
    for (const args of [["retry"], ["purge"]]) {
      const res = await deadLetters(...args);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain("usage: bun apps/notifications/src/dead-letters.ts list | retry <jobId> | retry --all");
    }
  });
});
