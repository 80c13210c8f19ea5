// Deadline propagation, the receiving side: a caller (the BFF) sends the time it has left in x-deadline-ms.
// A request that arrives with no time left is answered 504 at once; one that runs out is answered 504 when
// it does, and the work a handler ties to the deadline (a database query) is cancelled, not finished for nobody.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { createDeadline, type Deadline } from "./deadline.ts";
import { errorResponse } from "./errors.ts";

export const DEADLINE_HEADER = "x-deadline-ms";
export type DeadlineVariables = { deadline: Deadline | undefined };

const MS = /^\d{1,9}$/;

export const deadlineFromHeader = () =>
  createMiddleware<{ Variables: DeadlineVariables }>(async (c, next) => {
    const raw = c.req.header(DEADLINE_HEADER);
    if (raw === undefined || !MS.test(raw)) {
      // No budget (or one we cannot read): no deadline of ours, the caller's own timer still applies.
      c.set("deadline", undefined);
      return next();
    }
    const ms = Number(raw);
    if (ms === 0) return errorResponse(c, 504, "DEADLINE_EXCEEDED", "the caller's deadline had passed when the request arrived");
    const deadline = createDeadline(ms);
    c.set("deadline", deadline);
    const work = next();
    try {
      await deadline.race(work);
    } catch (err) {
      if (!deadline.signal.aborted) throw err;
      work.catch(() => {}); // the handler's own failure (e.g. its cancelled query) no longer matters
      c.res = errorResponse(c, 504, "DEADLINE_EXCEEDED", `gave up after the caller's ${ms} ms deadline`);
    } finally {
      deadline.abort();
    }
  });

type Cancellable<T> = PromiseLike<T> & { cancel(): unknown };

/** Runs a postgres.js query under the request's deadline: when it fires, the query is cancelled on the server. */
export function underDeadline<T>(c: Context, query: Cancellable<T>): PromiseLike<T> {
  const deadline = (c.get as (key: string) => Deadline | undefined)("deadline");
  if (!deadline) return query;
  // Deferred a turn: the 504 is decided first, so the handler's own failure (its cancelled query) cannot
  // overwrite it on the shared context.
  const cancel = () => void setTimeout(() => query.cancel(), 0);
  deadline.signal.addEventListener("abort", cancel, { once: true });
  return Promise.resolve(query).finally(() => deadline.signal.removeEventListener("abort", cancel));
}
