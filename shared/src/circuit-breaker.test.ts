// Conformance tests for the circuit breaker: each test pins one rule of the state machine on a fake clock.
import { describe, expect, test } from "bun:test";
import { CircuitOpenError, createCircuitBreaker, type BreakerOptions, type StateChange } from "./circuit-breaker.ts";
import { createDeadline, DeadlineExceededError, NO_LONGER_NEEDED } from "./deadline.ts";
import { createFakeClock, flushPromises } from "./testing/fake-clock.ts";

const OPEN_MS = 5_000;
const WINDOW_MS = 10_000;

function setup(overrides: Partial<BreakerOptions> = {}) {
  const clock = createFakeClock(0);
  const events: StateChange[] = [];
  const breaker = createCircuitBreaker({
    name: "upstream-test",
    windowMs: WINDOW_MS,
    minCalls: 5,
    failureRatio: 0.5,
    slowCallMs: 800,
    slowCallRatio: 1,
    openMs: OPEN_MS,
    halfOpenProbes: 3,
    now: clock.now,
    onStateChange: (change) => events.push(change),
    ...overrides,
  });
  let upstreamCalls = 0;
  const succeed = (value: unknown = "ok") =>
    breaker.run(async () => {
      upstreamCalls++;
      return value;
    });
  const fail = (error: unknown = new Error("upstream failed")) =>
    breaker
      .run(async () => {
        upstreamCalls++;
        throw error;
      })
      .then(
        () => {
          throw new Error("a failing call resolved");
        },
        (caught) => {
          if (caught instanceof CircuitOpenError) throw new Error("a failing call was refused instead of run");
          return caught;
        },
      );
  const refusal = async () => {
    const error = await breaker
      .run(async () => {
        upstreamCalls++;
        return "reached upstream";
      })
      .then(
        () => undefined,
        (e) => e,
      );
    expect(error).toBeInstanceOf(CircuitOpenError);
    return error as CircuitOpenError;
  };
  const openIt = async () => {
    for (let i = 0; i < 5; i++) await fail();
    expect(breaker.state).toBe("open");
  };
  return { clock, events, breaker, succeed, fail, refusal, openIt, upstream: () => upstreamCalls };
}

function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const transitions = (events: StateChange[]) => events.map((e) => `${e.from}->${e.to}`);

describe("createCircuitBreaker", () => {
  test("no decision below the minimum calls: minCalls-1 failures stay closed and emit nothing", async () => {
    const { breaker, events, fail } = setup();
    for (let i = 0; i < 4; i++) await fail();
    expect(breaker.state).toBe("closed");
    expect(events).toEqual([]);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 4, failures: 4 });
  });

  test("opens at the failure ratio with exactly one closed->open event, and not before", async () => {
    const { breaker, events, succeed, fail, refusal } = setup();
    await fail();
    await fail();
    await succeed();
    await succeed();
    await succeed();
    expect(breaker.state).toBe("closed"); // 2 of 5 = 0.4 < 0.5
    expect(events).toEqual([]);
    const error = new Error("third failure");
    expect(await fail(error)).toBe(error); // the deciding call still ran and its error reaches the caller
    expect(breaker.state).toBe("open"); // 3 of 6 = 0.5 >= 0.5
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ breaker: "upstream-test", from: "closed", to: "open" });
    expect(events[0]!.reason).toMatch(/fail/i);
    await refusal();
    expect(events).toHaveLength(1);
  });

  test("slow calls alone open it; a call of exactly slowCallMs is not slow", async () => {
    const { breaker, events, clock } = setup();
    const call = (ms: number) =>
      breaker.run(async () => {
        clock.advance(ms);
        return "ok";
      });
    for (let i = 0; i < 5; i++) await call(800);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 5, failures: 0, slow: 0 });

    const slow = setup();
    const slowCall = () =>
      slow.breaker.run(async () => {
        slow.clock.advance(801);
        return "ok";
      });
    for (let i = 0; i < 4; i++) expect(await slowCall()).toBe("ok");
    expect(slow.breaker.snapshot()).toMatchObject({ state: "closed", calls: 4, failures: 0, slow: 4 });
    await slowCall();
    expect(slow.breaker.state).toBe("open");
    expect(slow.events).toHaveLength(1);
    expect(slow.events[0]).toMatchObject({ from: "closed", to: "open" });
    expect(slow.events[0]!.reason).toMatch(/slow/i);
    expect(events).toEqual([]);
  });

  test("open refuses without calling the function and CircuitOpenError reports the remaining time", async () => {
    const { clock, openIt, refusal, upstream } = setup();
    await openIt();
    const before = upstream();
    const first = await refusal();
    expect(first.breaker).toBe("upstream-test");
    expect(first.retryAfterMs).toBe(OPEN_MS);
    clock.advance(1_000);
    expect((await refusal()).retryAfterMs).toBe(OPEN_MS - 1_000);
    clock.advance(3_999);
    expect((await refusal()).retryAfterMs).toBe(1);
    expect(upstream()).toBe(before);
  });

  test("half-open only after the open duration, with one open->half_open event", async () => {
    const { breaker, clock, events, openIt, refusal } = setup();
    await openIt();
    clock.advance(OPEN_MS - 1);
    expect(breaker.state).toBe("open");
    await refusal();
    expect(transitions(events)).toEqual(["closed->open"]);
    clock.advance(1);
    expect(breaker.state).toBe("half_open");
    expect(breaker.state).toBe("half_open");
    expect(transitions(events)).toEqual(["closed->open", "open->half_open"]);
  });

  test("exactly halfOpenProbes probes are admitted and the next call is refused with retryAfterMs 0", async () => {
    const { breaker, clock, openIt, refusal, upstream } = setup();
    await openIt();
    clock.advance(OPEN_MS);
    const before = upstream();
    const gates = [deferred(), deferred(), deferred()];
    let started = 0;
    const probes = gates.map((gate) =>
      breaker.run(() => {
        started++;
        return gate.promise;
      }),
    );
    await flushPromises();
    expect(started).toBe(3);
    const refused = await refusal();
    expect(refused.retryAfterMs).toBe(0);
    expect(upstream()).toBe(before);
    expect(breaker.state).toBe("half_open");
    gates.forEach((gate, i) => gate.resolve(`probe ${i}`));
    expect(await Promise.all(probes)).toEqual(["probe 0", "probe 1", "probe 2"]);
    expect(breaker.state).toBe("closed");
  });

  test("a failed probe reopens the breaker and restarts the open timer", async () => {
    const { breaker, clock, events, openIt, fail, refusal } = setup();
    await openIt();
    clock.advance(OPEN_MS);
    expect(breaker.state).toBe("half_open");
    clock.advance(1_000); // the new timer must start at the probe's failure, not at the first opening
    await fail();
    expect(breaker.state).toBe("open");
    expect(transitions(events)).toEqual(["closed->open", "open->half_open", "half_open->open"]);
    expect((await refusal()).retryAfterMs).toBe(OPEN_MS);
    clock.advance(OPEN_MS - 1);
    expect(breaker.state).toBe("open");
    clock.advance(1);
    expect(breaker.state).toBe("half_open");
  });

  test("all probes succeeding closes the breaker and resets the window counts", async () => {
    const { breaker, clock, events, openIt, succeed, fail } = setup();
    await openIt();
    clock.advance(OPEN_MS);
    await succeed();
    await succeed();
    expect(breaker.state).toBe("half_open"); // 2 of 3 probes are not enough
    await succeed();
    expect(breaker.state).toBe("closed");
    expect(transitions(events)).toEqual(["closed->open", "open->half_open", "half_open->closed"]);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 0, failures: 0, slow: 0 });
    // the 5 old failures are gone: one new failure is far from a decision
    await fail();
    expect(breaker.state).toBe("closed");
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 });
  });

  test("failures older than the window age out, but still count at windowMs - windowMs/10 - 1", async () => {
    const aged = setup();
    for (let i = 0; i < 4; i++) await aged.fail(); // at t=0, the start of a bucket
    aged.clock.advance(WINDOW_MS);
    expect(aged.breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
    for (let i = 0; i < 4; i++) await aged.succeed();
    expect(aged.breaker.state).toBe("closed");
    expect(aged.breaker.snapshot()).toMatchObject({ calls: 4, failures: 0 });
    expect(aged.events).toEqual([]);

    const kept = setup();
    kept.clock.advance(WINDOW_MS / 10 - 1); // the end of the first bucket: the shortest-lived position
    for (let i = 0; i < 4; i++) await kept.fail();
    kept.clock.advance(WINDOW_MS - WINDOW_MS / 10 - 1);
    expect(kept.breaker.snapshot()).toMatchObject({ calls: 4, failures: 4 });
    await kept.fail();
    expect(kept.breaker.state).toBe("open");
  });

  test("isFailure decides: 4xx values and thrown 4xx errors count as successes, 5xx as failures", async () => {
    const { breaker, events } = setup({
      isFailure: (outcome) => {
        const status = outcome.ok
          ? (outcome.value as { status: number }).status
          : ((outcome.error as { status?: number }).status ?? 500);
        return status >= 500;
      },
    });
    for (let i = 0; i < 5; i++) expect(await breaker.run(async () => ({ status: 404 }))).toEqual({ status: 404 });
    const notFound = Object.assign(new Error("not found"), { status: 404 });
    for (let i = 0; i < 5; i++) await expect(breaker.run(() => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 10, failures: 0 });
    expect(events).toEqual([]);

    for (let i = 0; i < 5; i++) await breaker.run(async () => ({ status: 503 })).catch(() => undefined);
    const unavailable = Object.assign(new Error("unavailable"), { status: 503 });
    for (let i = 0; i < 4; i++) await breaker.run(() => Promise.reject(unavailable)).catch(() => undefined);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 19, failures: 9 }); // 9/19 < 0.5
    await breaker.run(() => Promise.reject(unavailable)).catch(() => undefined);
    expect(breaker.state).toBe("open"); // 10/20
  });

  test("an aborted call counts as a failure at once although fn never settles, and fn sees the abort", async () => {
    const { breaker } = setup({ minCalls: 1 });
    const controller = new AbortController();
    let sawAbort = false;
    // the run itself stays pending like fn (the API promises the record, not a rejection); callers race it
    breaker.run(
      () =>
        new Promise<never>(() => {
          controller.signal.addEventListener("abort", () => (sawAbort = true), { once: true });
        }),
      controller.signal,
    );
    await flushPromises();
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
    controller.abort(new Error("caller gave up"));
    expect(breaker.snapshot()).toMatchObject({ state: "open", calls: 1, failures: 1 }); // synchronously, no await
    expect(sawAbort).toBe(true);
  });

  test("a real deadline firing on a call that never settles records the failure and aborts the fetch", async () => {
    const { breaker } = setup({ minCalls: 1 });
    const deadline = createDeadline(5);
    let fetchAborted = false;
    const hanging = () =>
      new Promise<never>(() => {
        deadline.signal.addEventListener("abort", () => (fetchAborted = true), { once: true });
      });
    const error = await deadline.race(breaker.run(hanging, deadline.signal)).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(fetchAborted).toBe(true);
    expect(breaker.snapshot()).toMatchObject({ state: "open", calls: 1, failures: 1 });
  });

  test("an aborted probe that never settles fails the probe and reopens the breaker", async () => {
    const { breaker, clock, openIt, events } = setup();
    await openIt();
    clock.advance(OPEN_MS);
    const controller = new AbortController();
    const probe = breaker.run(() => new Promise<never>(() => {}), controller.signal);
    probe.catch(() => {});
    await flushPromises();
    expect(breaker.state).toBe("half_open");
    controller.abort(new Error("gave up"));
    expect(breaker.state).toBe("open");
    expect(transitions(events)).toEqual(["closed->open", "open->half_open", "half_open->open"]);
  });

  test("a loser cancelled because nobody needs its answer is not recorded at all", async () => {
    const { breaker } = setup({ minCalls: 1 });
    const deadline = createDeadline(10_000);
    const losers = [0, 1, 2].map(() => breaker.run(() => new Promise<never>(() => {}), deadline.signal));
    for (const l of losers) l.catch(() => {});
    await flushPromises();
    deadline.abort(); // the listing's required part failed: the optional calls are stopped, not failed
    expect(deadline.signal.reason).toBe(NO_LONGER_NEEDED);
    expect(breaker.snapshot()).toMatchObject({ state: "closed", calls: 0, failures: 0 });
  });

  test("a probe cancelled because nobody needs it frees its slot for the next caller, and the breaker stays half-open", async () => {
    const { breaker, clock, openIt } = setup({ halfOpenProbes: 1 });
    await openIt();
    clock.advance(OPEN_MS);
    const controller = new AbortController();
    breaker.run(() => new Promise<never>(() => {}), controller.signal).catch(() => {});
    await flushPromises();
    expect(await breaker.run(async () => "second").catch((e) => e)).toBeInstanceOf(CircuitOpenError); // the one slot is taken
    controller.abort(NO_LONGER_NEEDED);
    expect(breaker.state).toBe("half_open");
    expect(await breaker.run(async () => "probe")).toBe("probe");
    expect(breaker.state).toBe("closed");
  });

  test("1,000 concurrent calls while open reach the upstream zero times", async () => {
    const { openIt, breaker } = setup();
    await openIt();
    let reached = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 1_000 }, () =>
        breaker.run(async () => {
          reached++;
          return "upstream";
        }),
      ),
    );
    expect(reached).toBe(0);
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof CircuitOpenError)).toBe(true);
  });

  test("state events carry the breaker name and are never emitted for same-state transitions", async () => {
    const { breaker, clock, events, succeed, fail, refusal } = setup({ name: "inventory" });
    for (let i = 0; i < 10; i++) await succeed(); // closed stays closed: no event
    clock.advance(WINDOW_MS);
    // ten calls in flight; the fifth failure opens it and the other five land while it is already open
    const gates = Array.from({ length: 10 }, () => deferred());
    const inFlight = gates.map((gate) => breaker.run(() => gate.promise).catch(() => undefined));
    await flushPromises();
    for (const gate of gates) {
      gate.reject(new Error("down"));
      await flushPromises();
    }
    await Promise.all(inFlight);
    expect(breaker.state).toBe("open");
    for (let i = 0; i < 3; i++) await refusal();
    clock.advance(OPEN_MS);
    for (let i = 0; i < 3; i++) expect(breaker.state).toBe("half_open");
    breaker.snapshot();
    // two probes fail: the first reopens it, the second lands on an open breaker
    const probes = [deferred(), deferred()];
    const probing = probes.map((gate) => breaker.run(() => gate.promise).catch(() => undefined));
    await flushPromises();
    for (const gate of probes) {
      gate.reject(new Error("still down"));
      await flushPromises();
    }
    await Promise.all(probing);
    expect(breaker.state).toBe("open");
    clock.advance(OPEN_MS);
    breaker.snapshot();
    for (let i = 0; i < 3; i++) await succeed();
    await succeed();
    expect(transitions(events)).toEqual([
      "closed->open",
      "open->half_open",
      "half_open->open",
      "open->half_open",
      "half_open->closed",
    ]);
    for (const event of events) {
      expect(event.breaker).toBe("inventory");
      expect(event.from).not.toBe(event.to);
      expect(typeof event.reason).toBe("string");
    }
  });

  test("snapshot reports name, state, counts and half_open_in_ms", async () => {
    const { breaker, clock, events, succeed, fail } = setup();
    expect(breaker.snapshot()).toEqual({
      name: "upstream-test",
      state: "closed",
      calls: 0,
      failures: 0,
      slow: 0,
      half_open_in_ms: null,
    });
    await succeed();
    await succeed();
    await breaker.run(async () => clock.advance(900));
    await fail();
    expect(breaker.snapshot()).toEqual({
      name: "upstream-test",
      state: "closed",
      calls: 4,
      failures: 1,
      slow: 1,
      half_open_in_ms: null,
    });
    await fail();
    expect(breaker.state).toBe("closed"); // 2 of 5
    await fail(); // 3 of 6
    expect(breaker.snapshot()).toMatchObject({ state: "open", half_open_in_ms: OPEN_MS });
    clock.advance(2_000);
    expect(breaker.snapshot()).toMatchObject({ state: "open", half_open_in_ms: OPEN_MS - 2_000 });
    clock.advance(OPEN_MS - 2_000);
    expect(breaker.snapshot().state).toBe("half_open"); // the snapshot itself notices the time has come
    expect(transitions(events)).toEqual(["closed->open", "open->half_open"]);
  });
});
