import { describe, expect, test } from "bun:test";
import { createFakeClock } from "../testing/fake-clock.ts";
import { createInstancePool, EJECTION, parseUpstreamUrls } from "./instances.ts";

const pool3 = (clock = createFakeClock()) => ({
  clock,
  pool: createInstancePool("cart", ["http://a:1", "http://b:1", "http://c:1"], { now: clock.now, minCalls: 100 }, clock.now),
});

describe("parseUpstreamUrls", () => {
  test("splits a comma list, trims spaces and trailing slashes, and keeps a single address as a list of one", () => {
    expect(parseUpstreamUrls("http://a:1/, http://b:2 ,")).toEqual(["http://a:1", "http://b:2"]);
    expect(parseUpstreamUrls("http://cart:8003")).toEqual(["http://cart:8003"]);
  });
});

describe("createInstancePool", () => {
  test("a single address keeps the upstream's own breaker name, as before replicas", () => {
    const pool = createInstancePool("cart", ["http://cart:8003"], {});
    expect(pool.breaker.name).toBe("cart");
    expect(pool.breaker).toBe(pool.instances[0]!.breaker);
  });

  test("replicas get a breaker each, named after their host", () => {
    const { pool } = pool3();
    expect(pool.instances.map((i) => i.breaker.name)).toEqual(["cart@a:1", "cart@b:1", "cart@c:1"]);
  });

  test("equal instances take turns", () => {
    const { pool } = pool3();
    const picks = Array.from({ length: 6 }, () => pool.pick(new Set()).base);
    expect(new Set(picks).size).toBe(3);
    for (const base of ["http://a:1", "http://b:1", "http://c:1"]) expect(picks.filter((p) => p === base)).toHaveLength(2);
  });

  test("the instance with the fewest calls in flight is chosen", () => {
    const { pool } = pool3();
    pool.instances[0]!.outstanding = 5;
    pool.instances[1]!.outstanding = 1;
    pool.instances[2]!.outstanding = 3;
    for (let k = 0; k < 5; k++) expect(pool.pick(new Set()).base).toBe("http://b:1");
  });

  test("a retry goes to an instance the call has not tried; once every one was tried, to any of them", () => {
    const { pool } = pool3();
    const [a, b, c] = pool.instances;
    expect(pool.pick(new Set([a!, b!]))).toBe(c!);
    expect([a, b, c]).toContain(pool.pick(new Set([a!, b!, c!])));
  });

  test("a refused connection ejects the instance at once, for baseMs, then it takes calls again", () => {
    const { pool, clock } = pool3();
    const [a] = pool.instances;
    pool.settle(a!, "refused");
    for (let k = 0; k < 10; k++) expect(pool.pick(new Set())).not.toBe(a!);
    clock.advance(EJECTION.baseMs);
    const picks = Array.from({ length: 6 }, () => pool.pick(new Set()));
    expect(picks).toContain(a!);
  });

  test(`failures eject after ${EJECTION.afterFailures} in a row; a success between them starts the count again`, () => {
    const { pool } = pool3();
    const [a] = pool.instances;
    for (let k = 1; k < EJECTION.afterFailures; k++) pool.settle(a!, "failure");
    pool.settle(a!, "ok");
    for (let k = 1; k < EJECTION.afterFailures; k++) pool.settle(a!, "failure");
    expect(pool.breaker.snapshot().instances![0]!.ejected_for_ms).toBeNull();
    pool.settle(a!, "failure");
    expect(pool.breaker.snapshot().instances![0]!.ejected_for_ms).toBe(EJECTION.baseMs);
  });

  test("each ejection in a row lasts twice as long as the last, up to maxMs; a success resets it", () => {
    const { pool, clock } = pool3();
    const [a] = pool.instances;
    const ejectedFor = () => pool.breaker.snapshot().instances![0]!.ejected_for_ms;
    const durations: number[] = [];
    for (let k = 0; k < 7; k++) {
      pool.settle(a!, "refused");
      durations.push(ejectedFor()!);
      clock.advance(ejectedFor()!);
    }
    expect(durations).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    pool.settle(a!, "ok");
    pool.settle(a!, "refused");
    expect(ejectedFor()).toBe(EJECTION.baseMs);
  });

  test("failures of calls that were in flight when the instance was ejected do not extend the ejection", () => {
    const { pool, clock } = pool3();
    const [a] = pool.instances;
    pool.settle(a!, "refused");
    clock.advance(500);
    for (let k = 0; k < 10; k++) pool.settle(a!, "failure");
    expect(pool.breaker.snapshot().instances![0]!.ejected_for_ms).toBe(500);
  });

  test("neutral outcomes (a caller's 4xx, an abort) neither eject nor reset the count", () => {
    const { pool } = pool3();
    const [a] = pool.instances;
    pool.settle(a!, "failure");
    pool.settle(a!, "failure");
    pool.settle(a!, "neutral");
    pool.settle(a!, "failure");
    expect(pool.breaker.snapshot().instances![0]!.ejected_for_ms).toBe(EJECTION.baseMs);
  });

  test("with every instance ejected, calls still go out (panic mode) rather than being refused", () => {
    const { pool } = pool3();
    for (const i of pool.instances) pool.settle(i, "refused");
    expect(pool.instances).toContain(pool.pick(new Set()));
    expect(pool.breaker.state).toBe("closed");
  });

  test("the pool's breaker is open only when every instance's breaker is open, and then refuses at once", async () => {
    const clock = createFakeClock();
    const pool = createInstancePool("cart", ["http://a:1", "http://b:1"], { now: clock.now, minCalls: 1, openMs: 5000 }, clock.now);
    const fail = () => Promise.reject(new Error("down"));
    await pool.instances[0]!.breaker.run(fail).catch(() => {});
    expect(pool.breaker.state).toBe("closed");
    expect(pool.pick(new Set())).toBe(pool.instances[1]!);
    await pool.instances[1]!.breaker.run(fail).catch(() => {});
    expect(pool.breaker.state).toBe("open");
    const refused = await pool.breaker.run(async () => "sent").catch((e: Error) => e);
    expect((refused as Error).name).toBe("CircuitOpenError");
    const snapshot = pool.breaker.snapshot();
    expect(snapshot.half_open_in_ms).toBe(5000);
    expect(snapshot.calls).toBe(2);
    expect(snapshot.failures).toBe(2);
    clock.advance(5000);
    expect(pool.breaker.state).toBe("half_open");
  });

  test("an instance that says it is shutting down is left out for drainingMs, without counting as a failure", () => {
    const { pool, clock } = pool3();
    const [a] = pool.instances;
    pool.draining(a!);
    expect(pool.breaker.snapshot().instances![0]!.ejected_for_ms).toBe(EJECTION.drainingMs);
    for (let k = 0; k < 10; k++) expect(pool.pick(new Set())).not.toBe(a!);
    expect(a!.ejections).toBe(0);
    clock.advance(EJECTION.drainingMs);
    expect(Array.from({ length: 6 }, () => pool.pick(new Set()))).toContain(a!);
  });

  test("a single address is never left out for draining: there is nowhere else to go", () => {
    const pool = createInstancePool("cart", ["http://cart:8003"], {});
    pool.draining(pool.instances[0]!);
    expect(pool.instances[0]!.ejectedUntil).toBe(0);
  });
});
