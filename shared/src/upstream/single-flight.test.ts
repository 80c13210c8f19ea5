import { describe, expect, test } from "bun:test";
import { createSingleFlight } from "./single-flight.ts";

/** A call that settles when told to, and notes whether it was aborted. */
function controllable<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const state = { started: 0, aborted: false };
  const start = (signal: AbortSignal) => {
    state.started++;
    signal.addEventListener("abort", () => {
      state.aborted = true;
      reject(signal.reason);
    });
    return new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  };
  return { start, state, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e) };
}

describe("single flight", () => {
  test("concurrent calls for one key share one start and one result", async () => {
    const flights = createSingleFlight();
    const call = controllable<string>();
    const a = flights.run("k", new AbortController().signal, call.start);
    const b = flights.run("k", new AbortController().signal, call.start);
    call.resolve("v");
    expect(await Promise.all([a, b])).toEqual(["v", "v"]);
    expect(call.state.started).toBe(1);
    expect(flights.size).toBe(0);
  });

  test("different keys do not share", async () => {
    const flights = createSingleFlight();
    let started = 0;
    await Promise.all(["a", "b"].map((k) => flights.run(k, new AbortController().signal, async () => ++started)));
    expect(started).toBe(2);
  });

  test("a call after the flight ended starts a new one", async () => {
    const flights = createSingleFlight();
    let started = 0;
    await flights.run("k", new AbortController().signal, async () => ++started);
    await flights.run("k", new AbortController().signal, async () => ++started);
    expect(started).toBe(2);
  });

  test("one caller giving up leaves the shared call running for the others", async () => {
    const flights = createSingleFlight();
    const call = controllable<string>();
    const impatient = new AbortController();
    const a = flights.run("k", impatient.signal, call.start);
    const b = flights.run("k", new AbortController().signal, call.start);
    impatient.abort(new Error("my deadline"));
    await expect(a).rejects.toThrow("my deadline");
    expect(call.state.aborted).toBe(false);
    call.resolve("v");
    expect(await b).toBe("v");
  });

  test("when every caller has given up, the shared call is aborted", async () => {
    const flights = createSingleFlight();
    const call = controllable<string>();
    const x = new AbortController();
    const y = new AbortController();
    const a = flights.run("k", x.signal, call.start);
    const b = flights.run("k", y.signal, call.start);
    x.abort(new Error("x"));
    y.abort(new Error("y"));
    const settled = await Promise.allSettled([a, b]);
    expect(settled.map((r) => r.status === "rejected" && (r.reason as Error).message)).toEqual(["x", "y"]);
    expect(call.state.aborted).toBe(true);
    expect(flights.size).toBe(0);
  });

  test("a shared call ends at its starter's deadline even while later callers keep joining", async () => {
    const flights = createSingleFlight();
    const call = controllable<string>();
    const first = flights.run("k", new AbortController().signal, call.start, 30);
    await Bun.sleep(20);
    const joiner = flights.run("k", new AbortController().signal, call.start, 1_000);
    const settled = await Promise.allSettled([first, joiner]);
    expect(settled.map((r) => r.status === "rejected" && (r.reason as Error).name)).toEqual(["DeadlineExceededError", "DeadlineExceededError"]);
    expect(call.state.aborted).toBe(true);
    expect(flights.size).toBe(0);
    // The next caller starts afresh instead of joining the dead call.
    const fresh = controllable<string>();
    const next = flights.run("k", new AbortController().signal, fresh.start, 1_000);
    fresh.resolve("ok");
    expect(await next).toBe("ok");
    expect(fresh.state.started).toBe(1);
  });

  test("a failure reaches every caller", async () => {
    const flights = createSingleFlight();
    const call = controllable<string>();
    const a = flights.run("k", new AbortController().signal, call.start);
    const b = flights.run("k", new AbortController().signal, call.start);
    call.reject(new Error("boom"));
    const settled = await Promise.allSettled([a, b]);
    expect(settled.map((r) => r.status === "rejected" && (r.reason as Error).message)).toEqual(["boom", "boom"]);
  });

  test("an already aborted caller is refused without starting anything", async () => {
    const flights = createSingleFlight();
    const gone = new AbortController();
    gone.abort(new Error("late"));
    let started = 0;
    await expect(flights.run("k", gone.signal, async () => ++started)).rejects.toThrow("late");
    expect(started).toBe(0);
  });
});
