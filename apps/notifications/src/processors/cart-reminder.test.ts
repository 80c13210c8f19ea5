import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { CART_REMINDER, cartReminderKey } from "@storefront/shared/notifications/events";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { newEvent, startHarness, waitFor, type Harness } from "../testing/worker-harness.ts";

const redisUp = await requireRedis("notifications worker: cart reminders");

const DELAY_MS = 300;
let db: TestDatabase;
let h: Harness;
beforeAll(async () => {
  db = await createTestDatabase("notifications_cart");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
});
afterEach(() => h?.close());
afterAll(() => db?.drop());

const reminderRows = async (userId: number) => [
  ...(await db.sql<{ event_id: string; title: string; body: string; payload: any }[]>`
    select event_id, title, body, payload from inbox where user_id = ${userId} and type = ${CART_REMINDER} order by id`),
];
const cartChanged = (user_id: number, items: number, at = new Date()) => newEvent({ type: "cart.changed", payload: { user_id, items } }, at);
const reminderJobs = async (h: Harness) => (await h.producer.getJobs(["completed", "failed", "delayed", "wait", "active"])).filter((j) => j.name === CART_REMINDER);
/** Every reminder job has run and none is waiting: nothing more can arrive. */
const remindersSettled = async (h: Harness) =>
  (await h.producer.getDelayedCount()) === 0 && (await h.producer.getActiveCount()) === 0 && (await h.producer.getWaitingCount()) === 0;

describe.skipIf(!redisUp)("cart.changed and cart.reminder", () => {
  test("three quick changes give exactly one reminder, the delay after the last change", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    h.stubs.carts.set(21, 2);
    const changes = [cartChanged(21, 1), cartChanged(21, 2), cartChanged(21, 2)];
    for (const change of changes.slice(0, 2)) await h.settled((await h.add(change)).id!);
    const lastAddedAt = Date.now();
    const last = await h.settled((await h.add(changes[2]!)).id!);
    expect(last.returnvalue).toEqual({ reminder: "armed" });

    await waitFor("the reminder row", async () => (await reminderRows(21)).length > 0);
    await waitFor("every reminder job settled", () => remindersSettled(h));
    await Bun.sleep(DELAY_MS); // room for a second reminder, were one still armed somewhere
    const rows = await reminderRows(21);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ title: "Your cart is waiting", body: "You left 2 items in your cart.", payload: { user_id: 21, items: 2 } });
    expect(rows[0]!.event_id).toBe(`${CART_REMINDER}:21:${changes[2]!.event_id}`);

    const jobs = await reminderJobs(h);
    expect(jobs).toHaveLength(1); // the two earlier armings were replaced, not left to fire
    expect(jobs[0]!.data).toMatchObject({ user_id: 21, armed_by: changes[2]!.event_id });
    expect(jobs[0]!.processedOn!).toBeGreaterThanOrEqual(lastAddedAt + DELAY_MS);
  });

  test("a burst handled concurrently still gives one reminder", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS, concurrency: 20 });
    h.stubs.carts.set(22, 1);
    const changes = [1, 2, 3, 4, 5].map((n) => cartChanged(22, n));
    const jobs = await Promise.all(changes.map((c) => h.add(c)));
    for (const job of jobs) await h.settled(job.id!);
    await waitFor("the reminder row", async () => (await reminderRows(22)).length > 0);
    await waitFor("every reminder job settled", () => remindersSettled(h));
    await Bun.sleep(DELAY_MS);
    expect(await reminderRows(22)).toHaveLength(1);
  });

  test("emptying the cart after an arming cancels the reminder", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    h.stubs.carts.set(23, 1);
    await h.settled((await h.add(cartChanged(23, 1))).id!);
    expect(await h.producer.getDeduplicationJobId(cartReminderKey(23))).not.toBeNull();
    const cancel = await h.settled((await h.add(cartChanged(23, 0))).id!);
    expect(cancel.returnvalue).toEqual({ reminder: "cancelled" });
    expect(await h.producer.getDelayedCount()).toBe(0);
    expect(await h.producer.getDeduplicationJobId(cartReminderKey(23))).toBeNull();
    await Bun.sleep(DELAY_MS * 2);
    expect(await reminderRows(23)).toEqual([]);
    expect(await reminderJobs(h)).toEqual([]);
  });

  test("a change after the cancel arms again", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    h.stubs.carts.set(24, 3);
    for (const items of [2, 0, 3]) await h.settled((await h.add(cartChanged(24, items))).id!);
    await waitFor("the reminder row", async () => (await reminderRows(24)).length > 0);
    expect((await reminderRows(24))[0]!.body).toBe("You left 3 items in your cart.");
  });

  test("a reminder that finds the cart empty (emptied without an event reaching us) writes nothing", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    await h.settled((await h.add(cartChanged(25, 1))).id!);
    await waitFor("the reminder ran", async () => (await reminderJobs(h)).some((j) => j.finishedOn));
    const [job] = await reminderJobs(h);
    expect(await job!.getState()).toBe("completed");
    expect((await h.producer.getJob(job!.id!))!.returnvalue).toEqual({ reminded: false });
    expect(await reminderRows(25)).toEqual([]);
  });

  test("each arming after a reminder fired gets its own reminder", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    h.stubs.carts.set(26, 1);
    await h.settled((await h.add(cartChanged(26, 1))).id!);
    await waitFor("the first reminder", async () => (await reminderRows(26)).length === 1);
    await h.settled((await h.add(cartChanged(26, 2))).id!);
    await waitFor("the second reminder", async () => (await reminderRows(26)).length === 2);
  });

  test("an older emptying handled after a newer change does not cancel the newer reminder", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: DELAY_MS });
    h.stubs.carts.set(27, 1);
    const older = cartChanged(27, 0, new Date(Date.now() - 1000));
    await h.settled((await h.add(cartChanged(27, 1))).id!);
    const late = await h.settled((await h.add(older)).id!);
    expect(late.returnvalue).toEqual({ reminder: "superseded" });
    await waitFor("the reminder row", async () => (await reminderRows(27)).length === 1);
  });

  test("the cart service failing: the reminder is retried, then reminds once", async () => {
    h = await startHarness({ sql: db.sql, reminderDelayMs: 50 });
    h.stubs.carts.set(28, 1);
    // The reminder job has EVENT_JOB_OPTIONS' backoff (1 s, then 2 s...): one failure costs a second.
    let failures = 1;
    h.stubs.cartFailWith = () => (failures-- > 0 ? 502 : undefined);
    await h.settled((await h.add(cartChanged(28, 1))).id!);
    await waitFor("the reminder row", async () => (await reminderRows(28)).length === 1);
    await waitFor("every reminder job settled", () => remindersSettled(h));
    const [job] = await reminderJobs(h);
    expect(await job!.getState()).toBe("completed");
    expect(job!.attemptsMade).toBe(2);
    expect(await reminderRows(28)).toHaveLength(1);
  });
});
