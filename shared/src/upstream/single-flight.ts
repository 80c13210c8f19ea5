// Concurrent identical GETs share one upstream call ("single flight"). Each caller still waits under its own
// deadline. The shared call is aborted when every caller has given up on it, and in any case when the deadline
// of the caller that started it passes (`maxMs`, its time left, given by the upstream client): without that
// bound, a steady stream of later callers could keep one hung call alive forever.
import { DeadlineExceededError } from "../deadline.ts";

type Flight = { promise: Promise<unknown>; controller: AbortController; waiters: number };

export type SingleFlight = {
  /** `maxMs`: how long a call this caller starts may run (its own time left). */
  run<T>(key: string, callerSignal: AbortSignal, start: (signal: AbortSignal) => Promise<T>, maxMs?: number): Promise<T>;
  /** Calls in flight now (for tests and metrics). */
  readonly size: number;
};

export function createSingleFlight(): SingleFlight {
  const flights = new Map<string, Flight>();
  return {
    get size() {
      return flights.size;
    },
    run<T>(key: string, callerSignal: AbortSignal, start: (signal: AbortSignal) => Promise<T>, maxMs?: number): Promise<T> {
      if (callerSignal.aborted) return Promise.reject(callerSignal.reason);
      let flight = flights.get(key);
      if (!flight) {
        const controller = new AbortController();
        const created: Flight = { controller, waiters: 0, promise: Promise.resolve() };
        const bound =
          maxMs === undefined
            ? undefined
            : setTimeout(() => {
                if (flights.get(key) === created) flights.delete(key);
                controller.abort(new DeadlineExceededError(maxMs));
              }, maxMs);
        created.promise = start(controller.signal).finally(() => {
          clearTimeout(bound);
          if (flights.get(key) === created) flights.delete(key);
        });
        created.promise.catch(() => {}); // every waiter handles it; a flight nobody waits for any more must not go unhandled
        flights.set(key, created);
        flight = created;
      }
      const joined = flight;
      joined.waiters++;
      return new Promise<T>((resolve, reject) => {
        let done = false;
        const leave = () => {
          done = true;
          callerSignal.removeEventListener("abort", onAbort);
          joined.waiters--;
        };
        const onAbort = () => {
          if (done) return;
          leave();
          // The last one out turns off the light: nobody needs the answer any more.
          if (joined.waiters === 0) {
            if (flights.get(key) === joined) flights.delete(key);
            joined.controller.abort(callerSignal.reason);
          }
          reject(callerSignal.reason);
        };
        callerSignal.addEventListener("abort", onAbort, { once: true });
        joined.promise.then(
          (value) => {
            if (done) return;
            leave();
            resolve(value as T);
          },
          (error) => {
            if (done) return;
            leave();
            reject(error);
          },
        );
      });
    },
  };
}
