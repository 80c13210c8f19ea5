import { describe, expect, test } from "bun:test";
import { createDeadline, DeadlineExceededError, withDeadline } from "./deadline.ts";

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));

describe("createDeadline", () => {
  test("a call that settles in time wins and the signal stays unaborted until abort()", async () => {
    const deadline = createDeadline(1000);
    expect(await deadline.race(Promise.resolve(42))).toBe(42);
    expect(deadline.signal.aborted).toBe(false);
    deadline.abort();
    expect(deadline.signal.aborted).toBe(true);
  });

  test("a call that never settles loses with DeadlineExceededError and is aborted", async () => {
    const deadline = createDeadline(20);
    const work = never(deadline.signal);
    work.catch(() => {});
    const error = await deadline.race(work).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.ms).toBe(20);
    expect(deadline.signal.aborted).toBe(true);
  });

  test("one timer serves several calls", async () => {
    const deadline = createDeadline(20);
    const results = await Promise.allSettled([deadline.race(Promise.resolve("fast")), deadline.race(never(deadline.signal))]);
    expect(results[0]).toEqual({ status: "fulfilled", value: "fast" });
    expect(results[1]!.status).toBe("rejected");
  });

  test("a rejection inside the deadline is passed through as it is", async () => {
    const deadline = createDeadline(1000);
    const boom = new Error("boom");
    await expect(deadline.race(Promise.reject(boom))).rejects.toBe(boom);
    deadline.abort();
  });
});

describe("withDeadline", () => {
  test("returns the value and aborts the signal afterwards (nothing left running)", async () => {
    let seen: AbortSignal | undefined;
    const value = await withDeadline(1000, async (signal) => {
      seen = signal;
      return "ok";
    });
    expect(value).toBe("ok");
    expect(seen?.aborted).toBe(true);
  });

  test("rejects with DeadlineExceededError when the work ignores its signal", async () => {
    await expect(withDeadline(10, () => new Promise(() => {}))).rejects.toBeInstanceOf(DeadlineExceededError);
  });
});
