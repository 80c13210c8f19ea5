// Two managers assigning a courier at once, as real concurrent HTTP requests on a real Postgres through a pool
// wide enough for them to interleave: one 200, one 409 INVALID_TRANSITION, one history row and one
// delivery.assigned. The first test makes the race certain: it holds the row so both requests have read the same
// version before either may update. The embedded fallback serves one connection, so these need a server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { COURIER_ONE, COURIER_TWO, deliveryFixture, type DeliveryFixture } from "../testing/delivery-fixture.ts";

const onServer = Boolean(process.env.TEST_DATABASE_URL);
let f: DeliveryFixture;
let server: ReturnType<typeof Bun.serve> | undefined;
let url: string;

beforeAll(async () => {
  if (!onServer) return;
  f = await deliveryFixture("delivery_assign_race", { pool: 20 });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: f.app.fetch });
  url = `http://127.0.0.1:${server.port}`;
}, 60_000);
afterAll(async () => {
  await server?.stop(true);
  await f?.close();
});

async function assign(orderId: number, courierId: number) {
  const res = await fetch(`${url}/deliveries/${orderId}/courier`, {
    method: "POST",
    headers: { ...(await f.issuer.auth(6, "admin")), "content-type": "application/json" },
    body: JSON.stringify({ courier_id: courierId }),
  });
  return { courierId, status: res.status, body: (await res.json()) as any };
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(10);
  }
}

/** How many of this database's sessions wait for a row lock. */
const waitingOnLocks = async () =>
  (await f.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`)[0]!.n;

describe.skipIf(!onServer)("two assigns at once", () => {
  test("both read the same version, then race to update: one 200, the other 409 naming activated; one event, one history row", async () => {
    const orderId = await f.seed("activated", 21);
    await f.resetOutbox();

    // Hold the row: both requests read it (a plain select is not blocked) and then wait at their update.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = f.sql.begin(async (tx) => {
      await tx`select 1 from deliveries where order_id = ${orderId} for update`;
      locked();
      await released;
    });
    await isLocked;
    const answers = Promise.all([assign(orderId, COURIER_ONE.courier_id), assign(orderId, COURIER_TWO.courier_id)]);
    try {
      await eventually("both updates waiting on the held row", async () => (await waitingOnLocks()) >= 2);
    } finally {
      release();
      await holder;
    }
    const [a, b] = await answers;
    const winner = [a!, b!].find((r) => r.status === 200)!;
    const loser = [a!, b!].find((r) => r !== winner)!;
    expect([a!.status, b!.status].sort()).toEqual([200, 409]);
    expect(loser.body.error).toMatchObject({ code: "INVALID_TRANSITION", status: "activated" });
    expect(loser.body.error.message).toContain(`already has courier ${winner.courierId}`);

    expect(await f.row(orderId)).toMatchObject({ status: "activated", courier_id: winner.courierId, version: 3 });
    expect((await f.history(orderId)).filter((h) => h.from_status === "activated")).toHaveLength(1);
    const events = await f.outbox();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "delivery.assigned", payload: { order_id: orderId, courier_id: winner.courierId } });
  });

  test("twenty rounds of five managers at once: always exactly one 200, four 409, never a 500", async () => {
    for (let round = 0; round < 20; round++) {
      const orderId = await f.seed("activated");
      const answers = await Promise.all([1, 2, 1, 2, 1].map((courierId) => assign(orderId, courierId)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.body))).toEqual([200, 409, 409, 409, 409]);
      const winner = answers.find((a) => a.status === 200)!;
      expect(await f.row(orderId)).toMatchObject({ courier_id: winner.courierId, version: 3 });
    }
  });
});
