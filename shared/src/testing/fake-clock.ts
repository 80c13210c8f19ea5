// A manual clock for tests of time-driven code (breaker, retry): time moves only when the test says so,
// so no test ever really sleeps and no assertion depends on the machine's speed.

export type FakeClock = {
  now(): number;
  /** Moves time forward and wakes every sleeper whose time has come, earliest first. */
  advance(ms: number): void;
  /** Resolves once the fake time reaches now + ms; rejects with signal.reason if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Every ms passed to sleep(), in call order: what the code under test asked to wait. */
  readonly sleeps: number[];
  /** Sleepers still waiting. */
  pending(): number;
  /** Advances exactly to the earliest pending sleeper's wake time; false when nobody sleeps. */
  advanceToNextSleep(): boolean;
};

type Sleeper = { at: number; wake: () => void };

export function createFakeClock(start = 0): FakeClock {
  let time = start;
  const sleepers: Sleeper[] = [];
  const sleeps: number[] = [];

  const wakeDue = () => {
    sleepers.sort((a, b) => a.at - b.at);
    while (sleepers.length > 0 && sleepers[0]!.at <= time) sleepers.shift()!.wake();
  };

  return {
    now: () => time,
    advance(ms) {
      if (ms < 0) throw new Error("a clock does not go backwards");
      time += ms;
      wakeDue();
    },
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          const index = sleepers.indexOf(sleeper);
          if (index >= 0) sleepers.splice(index, 1);
          reject(signal!.reason);
        };
        const sleeper: Sleeper = {
          at: time + Math.max(0, ms),
          wake: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        sleepers.push(sleeper);
        wakeDue();
      });
    },
    sleeps,
    pending: () => sleepers.length,
    advanceToNextSleep() {
      if (sleepers.length === 0) return false;
      const next = Math.min(...sleepers.map((s) => s.at));
      time = Math.max(time, next);
      wakeDue();
      return true;
    },
  };
}

/** Lets every queued promise continuation run (a macrotask comes after all pending microtasks). */
export const flushPromises = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Drives `work` to its end by jumping the clock from one sleep to the next; throws if it waits on anything else. */
export async function runWithClock<T>(clock: FakeClock, work: Promise<T>, maxSteps = 1000): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < maxSteps; step++) {
    await flushPromises();
    if (settled) return work;
    if (!clock.advanceToNextSleep()) break;
  }
  await flushPromises();
  if (settled) return work;
  throw new Error("work did not settle: it waits on something other than the fake clock");
}
