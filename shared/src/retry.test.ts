// Conformance tests for retry: attempts, full-jitter backoff, deadline, Retry-After and aborts, on a fake clock.
import { describe, expect, test } from "bun:test";
import { CircuitOpenError, createCircuitBreaker } from "./circuit-breaker.ts";
import { DeadlineExceededError } from "./deadline.ts";
import { parseRetryAfter, retry, TooManyRetriesError, type RetryOptions } from "./retry.ts";
import { createFakeClock, flushPromises, runWithClock, type FakeClock } from "./testing/fake-clock.ts";

const clocked = (clock: FakeClock, options: RetryOptions = {}): RetryOptions => ({
  now: clock.now,
  sleep: clock.sleep,
  random: () => 1,
  ...options,
});

const failing = (onCall: (attempt: number) => void = () => {}) =>
  async (attempt: number): Promise<never> => {
    onCall(attempt);
    throw new Error(`attempt ${attempt} failed`);
  };

/** Rejects with the signal's reason once it aborts; never settles otherwise. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));

const settledFlag = (promise: Promise<unknown>) => {
  const flag = { settled: false };
  promise.then(
    () => (flag.settled = true),
    () => (flag.settled = true),
  );
  return flag;
};

describe("retry", () => {
  test("returns the first success, counting attempts and passing attempt numbers 1..n", async () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    const value = await runWithClock(
      clock,
      retry(
        async (attempt, signal) => {
          seen.push(attempt);
          expect(signal).toBeInstanceOf(AbortSignal);
          if (attempt < 3) throw new Error("not yet");
          return "done";
        },
        clocked(clock, { attempts: 5 }),
      ),
    );
    expect(value).toBe("done");
    expect(seen).toEqual([1, 2, 3]);

    const once: number[] = [];
    expect(await retry(async (attempt) => (once.push(attempt), "first"), clocked(clock))).toBe("first");
    expect(once).toEqual([1]);
  });

  test("TooManyRetriesError carries the attempts made and the last cause (3 attempts by default)", async () => {
    const clock = createFakeClock();
    const errors: Error[] = [];
    const error = await runWithClock(
      clock,
      retry(async (attempt) => {
        const e = new Error(`attempt ${attempt}`);
        errors.push(e);
        throw e;
      }, clocked(clock)),
    ).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRetriesError);
    expect(error.attempts).toBe(3);
    expect(errors).toHaveLength(3);
    expect(error.cause).toBe(errors[2]);
  });

  test("full jitter backoff: random()=1 gives base, 2*base, 4*base capped at maxMs; random()=0 gives no wait", async () => {
    const backoff = { baseMs: 100, maxMs: 350 };
    const top = createFakeClock();
    const error = await runWithClock(top, retry(failing(), clocked(top, { attempts: 5, backoff }))).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRetriesError);
    expect(top.sleeps).toEqual([100, 200, 350, 350]);

    const half = createFakeClock();
    await runWithClock(half, retry(failing(), clocked(half, { attempts: 5, backoff, random: () => 0.5 }))).catch(() => {});
    expect(half.sleeps).toEqual([50, 100, 175, 175]);

    const zero = createFakeClock();
    let calls = 0;
    await runWithClock(zero, retry(failing(() => calls++), clocked(zero, { attempts: 5, backoff, random: () => 0 }))).catch(() => {});
    expect(calls).toBe(5);
    expect(zero.sleeps.every((ms) => ms === 0)).toBe(true);
    expect(zero.now()).toBe(0);
  });

  test("retry never exceeds the deadline and does not start an attempt without minAttemptMs left", async () => {
    // each attempt takes 100 ms; backoff 100, 200, 400: attempts run at 0-100, 200-300, 500-600; a 4th could only
    // start at 1000 = the deadline, so it is not started
    const clock = createFakeClock();
    const spans: Array<[number, number]> = [];
    const slowFailure = async (attempt: number): Promise<never> => {
      const start = clock.now();
      clock.advance(100);
      spans.push([start, clock.now()]);
      throw new Error(`attempt ${attempt}`);
    };
    const deadline = 1_000;
    const options = { attempts: 10, deadline, backoff: { baseMs: 100, maxMs: 10_000 } };
    const error = await runWithClock(clock, retry(slowFailure, clocked(clock, options))).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRetriesError);
    expect(error.attempts).toBe(3);
    expect(spans).toEqual([
      [0, 100],
      [200, 300],
      [500, 600],
    ]);
    expect(clock.now()).toBeLessThanOrEqual(deadline);

    // with minAttemptMs 600 the third attempt (it would start at 500, 500 ms before the deadline) is not started
    const strict = createFakeClock();
    let calls = 0;
    const strictError = await runWithClock(
      strict,
      retry(
        async () => {
          calls++;
          strict.advance(100);
          throw new Error("down");
        },
        clocked(strict, { ...options, minAttemptMs: 600 }),
      ),
    ).catch((e) => e);
    expect(strictError).toBeInstanceOf(TooManyRetriesError);
    expect(strictError.attempts).toBe(2);
    expect(calls).toBe(2);
    expect(strict.now()).toBeLessThanOrEqual(deadline);
  });

  test("retry honours Retry-After instead of the backoff, and stops at once when it would pass the deadline", async () => {
    const clock = createFakeClock();
    const value = await runWithClock(
      clock,
      retry(
        async (attempt) => {
          if (attempt === 1) throw new Error("429");
          return "after the wait";
        },
        clocked(clock, { retryAfterMs: () => 2_000, backoff: { baseMs: 100, maxMs: 1_000 } }),
      ),
    );
    expect(value).toBe("after the wait");
    expect(clock.sleeps).toEqual([2_000]);
    expect(clock.now()).toBe(2_000);

    const tight = createFakeClock();
    let calls = 0;
    const error = await runWithClock(
      tight,
      retry(failing(() => calls++), clocked(tight, { attempts: 5, deadline: 1_000, retryAfterMs: () => 2_000 })),
    ).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRetriesError);
    expect(error.attempts).toBe(1);
    expect(calls).toBe(1);
    expect(tight.sleeps).toEqual([]);
    expect(tight.now()).toBe(0);
  });

  test("a non-retryable error (retryOn false) is rethrown as it is after one attempt", async () => {
    const clock = createFakeClock();
    const fatal = new Error("400 bad request");
    let calls = 0;
    const error = await runWithClock(
      clock,
      retry(
        async () => {
          calls++;
          throw fatal;
        },
        clocked(clock, { attempts: 5, retryOn: (e) => e !== fatal }),
      ),
    ).catch((e) => e);
    expect(error).toBe(fatal);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  test("by default AbortError, DeadlineExceededError and CircuitOpenError are not retried, other errors are", async () => {
    const breaker = createCircuitBreaker({ name: "down", minCalls: 1 });
    await breaker.run(() => Promise.reject(new Error("boom"))).catch(() => {});
    const circuitOpen = await breaker.run(async () => "unreachable").catch((e) => e);
    expect(circuitOpen).toBeInstanceOf(CircuitOpenError);
    const abort = new DOMException("aborted", "AbortError");
    for (const fatal of [abort, new DeadlineExceededError(100), circuitOpen]) {
      const clock = createFakeClock();
      let calls = 0;
      const error = await runWithClock(
        clock,
        retry(async () => {
          calls++;
          throw fatal;
        }, clocked(clock, { attempts: 5 })),
      ).catch((e) => e);
      expect(error).toBe(fatal);
      expect(calls).toBe(1);
    }
    const clock = createFakeClock();
    let calls = 0;
    await runWithClock(clock, retry(failing(() => calls++), clocked(clock, { attempts: 5 }))).catch(() => {});
    expect(calls).toBe(5);
  });

  test("the caller's signal aborting stops retrying at once, during a backoff or an attempt", async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    let calls = 0;
    const retrying = retry(failing(() => calls++), clocked(clock, { attempts: 5, signal: caller.signal }));
    const flag = settledFlag(retrying);
    await flushPromises();
    expect(clock.pending()).toBe(1); // in the backoff after attempt 1
    const reason = new Error("client went away");
    caller.abort(reason);
    await flushPromises();
    expect(flag.settled).toBe(true);
    await expect(retrying).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(clock.now()).toBe(0);

    const during = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    let attempts = 0;
    const hanging = retry(
      (_attempt, signal) => {
        attempts++;
        attemptSignal = signal;
        return untilAborted(signal);
      },
      clocked(clock, { attempts: 5, signal: during.signal }),
    );
    const hangingFlag = settledFlag(hanging);
    await flushPromises();
    expect(attemptSignal?.aborted).toBe(false);
    const stop = new Error("stop");
    during.abort(stop);
    await flushPromises();
    expect(hangingFlag.settled).toBe(true);
    await expect(hanging).rejects.toBe(stop);
    expect(attemptSignal?.aborted).toBe(true);
    expect(attempts).toBe(1);
  });

  // The attempt timer is a real timer in the implementation (not the injected sleep), so this test waits a few
  // real milliseconds; it asserts only that the abort happens, never how fast.
  test("the attempt's signal aborts at attemptTimeoutMs, or earlier at the deadline", async () => {
    const clock = createFakeClock();
    let seen: AbortSignal | undefined;
    const timedOut = retry(
      (_attempt, signal) => {
        seen = signal;
        return untilAborted(signal);
      },
      clocked(clock, { attempts: 1, attemptTimeoutMs: 20 }),
    );
    const flag = settledFlag(timedOut);
    await flushPromises();
    expect(seen?.aborted).toBe(false);
    expect(flag.settled).toBe(false);
    await timedOut.catch(() => {});
    expect(seen?.aborted).toBe(true);

    // a 60 s attempt cap with only 20 ms left before the deadline aborts at the deadline (else this test times out)
    let capped: AbortSignal | undefined;
    const deadlineCapped = retry(
      (_attempt, signal) => {
        capped = signal;
        return untilAborted(signal);
      },
      clocked(clock, { attempts: 1, attemptTimeoutMs: 60_000, minAttemptMs: 1, deadline: clock.now() + 20 }),
    );
    await deadlineCapped.catch(() => {});
    expect(capped?.aborted).toBe(true);
  });

  test("parseRetryAfter reads delay-seconds and HTTP dates, and rejects the rest", () => {
    const now = Date.UTC(2026, 10, 21, 12, 0, 0);
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter("0", now)).toBe(0);
    const inFive = new Date(now + 5_000).toUTCString();
    const ms = parseRetryAfter(inFive, now)!;
    expect(ms).toBeGreaterThanOrEqual(4_000);
    expect(ms).toBeLessThanOrEqual(5_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("-1", now)).toBeUndefined();
  });
});
