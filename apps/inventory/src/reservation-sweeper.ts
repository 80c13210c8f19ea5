// The reservation sweeper: every few moments, expires the active reservations past their expiry and gives
// their units back (db/reservations.ts expireDue). index.ts runs it beside the outbox relay; any number of
// instances may run at once (SKIP LOCKED). A failed pass is logged and tried again at the next tick.
import type { Sql } from "postgres";
import type { Logger } from "@storefront/shared/observability/logger";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { expireDue } from "./db/reservations.ts";

export const DEFAULT_SWEEP_MS = 1000;

export type ReservationSweeperOptions = {
  sql: Sql;
  logger: Logger;
  /** The pause between two passes that found less than a full batch. */
  everyMs?: number;
  /** Reservations expired per transaction; a full batch is followed by the next one at once. */
  batchSize?: number;
  /** Woken after a pass wrote stock.back_in_stock events. */
  outbox?: OutboxWaker;
};

export type ReservationSweeper = {
  start(): void;
  /** Stops the ticks and waits for the pass in flight (its transaction commits or rolls back first). */
  stop(): Promise<void>;
  /** One pass, errors thrown rather than logged: for tests. Returns how many reservations it expired. */
  sweepOnce(): Promise<number>;
};

export function createReservationSweeper(options: ReservationSweeperOptions): ReservationSweeper {
  const { sql, logger, everyMs = DEFAULT_SWEEP_MS, batchSize = 100, outbox } = options;
  let started = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<number> | undefined;
  let failing = false;

  async function sweepOnce(): Promise<number> {
    const { expired, events } = await expireDue(sql, batchSize);
    if (events > 0) outbox?.wake();
    if (expired > 0) logger.info("reservations expired, their stock given back", { expired, back_in_stock: events });
    return expired;
  }

  /** One pass; returns the wait before the next (0 after a full batch: there may be more). */
  async function pass(): Promise<number> {
    try {
      const expired = await sweepOnce();
      if (failing) logger.info("reservation sweeper works again");
      failing = false;
      return expired === batchSize ? 0 : everyMs;
    } catch (err) {
      // One line per run of failures (a database outage), not one per tick.
      if (!failing) logger.error("reservation sweeper failed; retrying", { error: (err as Error).message });
      failing = true;
      return everyMs;
    }
  }

  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), ms);
    // The server keeps the process alive; the sweeper alone must not.
    timer.unref?.();
  };

  async function run() {
    timer = undefined;
    if (stopped || inFlight) return;
    inFlight = pass();
    const wait = await inFlight;
    inFlight = undefined;
    if (!stopped) schedule(wait);
  }

  return {
    sweepOnce,
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
