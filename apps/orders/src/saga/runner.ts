// Runs order sagas from their persisted state. A runner holds an order's lease while it drives it; after each
// remote call it commits the outcome, the next step (marked started: for the charge, also that a charge was
// attempted) and the events it implies in one transaction, so every call has its state stored before it
// and after it. A crash anywhere leaves a state
// to resume from: the lease runs out, the sweeper finds the saga due, and the step runs again, which is safe
// because every step is idempotent at the service it reaches. Transient failures are retried a few times in
// process, then left to the sweeper with a growing backoff; a business failure turns the saga around to its
// compensations.
import type { Sql, TransactionSql } from "postgres";
import type { OutboxEvent } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import type { Histogram } from "@storefront/shared/observability/metrics";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { OrdersClients } from "../clients.ts";
import { catchUpWithDelivery } from "../db/delivery.ts";
import { listItems, logStep, type OrderRow, type SagaStep } from "../db/orders.ts";
import { claimOrder, dueSagas, releaseLease, transition, type Transition } from "../db/saga.ts";
import { KEY_RETENTION_HOURS } from "../checkout.ts";
import { purgeKeys } from "../db/idempotency.ts";
import { FORWARD, isRemote, nextStep, runStep, type StepOutcome } from "./steps.ts";

/** A test-only switch (ORDERS_CRASH_AT="charge:after"): the process kills itself there, as a crash would. */
export type CrashPoint = { step: SagaStep; when: "before" | "after" };

export type SagaRunnerOptions = {
  sql: Sql;
  clients: OrdersClients;
  logger: Logger;
  outbox?: OutboxWaker;
  now?: () => number;
  /** How long a runner holds a saga without renewing; a crashed runner's sagas resume after it. */
  leaseMs?: number;
  /** How often the sweeper looks for sagas left unfinished. */
  sweepMs?: number;
  /** A forward step still failing after this long since the order was placed gives up. */
  giveUpMs?: number;
  /** An order is not charged when its reservation runs out within this. */
  chargeMarginMs?: number;
  /** Retries of a step within one drive, before leaving it to the sweeper. */
  inProcessRetries?: number;
  maxBackoffMs?: number;
  /** Sagas driven at once by the sweeper. */
  concurrency?: number;
  crashAt?: CrashPoint;
  /** Each remote step's call, by step and outcome (orders_saga_step_duration_seconds): where checkout's time goes. */
  stepDuration?: Histogram;
  kill?: () => void;
  sleep?: (ms: number) => Promise<unknown>;
};

export type SagaRunner = {
  /** Drives the order's saga until it ends or has to wait; resolves then, never rejects. */
  run(orderId: number): Promise<void>;
  /** Starts the sweeper (and runs it once at once). */
  start(): void;
  /** Stops the sweeper; drives in flight stop at their next step boundary. */
  stop(): Promise<void>;
};

export const SAGA_DEFAULTS = { leaseMs: 15_000, sweepMs: 1000, giveUpMs: 10 * 60_000, chargeMarginMs: 1000, inProcessRetries: 2, maxBackoffMs: 30_000, concurrency: 16 };

/** "charge:after" -> { step: "charge", when: "after" }; throws on anything else. */
export function parseCrashPoint(raw: string | undefined): CrashPoint | undefined {
  if (!raw) return undefined;
  const [step, when] = raw.split(":");
  const steps: SagaStep[] = ["reserve", "charge", "commit", "clear_cart", "refund", "release"];
  if (!steps.includes(step as SagaStep) || (when !== "before" && when !== "after")) {
    throw new Error(`ORDERS_CRASH_AT must be <step>:before or <step>:after with step one of ${steps.join(", ")}; got "${raw}"`);
  }
  return { step: step as SagaStep, when };
}

export function createSagaRunner(options: SagaRunnerOptions): SagaRunner {
  const { sql, clients, logger, outbox } = options;
  const { leaseMs, sweepMs, giveUpMs, chargeMarginMs, inProcessRetries, maxBackoffMs, concurrency } = { ...SAGA_DEFAULTS, ...definedOnly(options) };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? Bun.sleep;
  const kill = options.kill ?? (() => process.kill(process.pid, "SIGKILL"));
  const owner = `${process.pid}-${crypto.randomUUID()}`;
  const running = new Map<number, Promise<void>>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sweeping: Promise<void> | undefined;

  const crashIf = (step: SagaStep, when: CrashPoint["when"]) => {
    if (options.crashAt?.step === step && options.crashAt.when === when) {
      logger.warn("ORDERS_CRASH_AT: killing the process", { step, when });
      kill();
    }
  };

  const backoff = (attempts: number, afterMs?: number) => {
    const base = afterMs ?? Math.min(maxBackoffMs, 250 * 2 ** Math.max(0, attempts - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };

  /**
   * Runs `change` with the lease's transition in one transaction, writes `event` with it, wakes the relay after.
   * `also` runs last in the same transaction.
   */
  async function move(
    order: OrderRow,
    to: Transition,
    log: { outcome: "succeeded" | "failed" | "retrying" | "skipped"; detail?: string | null },
    events: OutboxEvent[] = [],
    also?: (tx: TransactionSql) => Promise<unknown>,
  ) {
    const next = await sql.begin(async (tx) => {
      const row = await transition(tx, order.order_id, owner, leaseMs, order.step, to);
      if (!row) return null;
      await logStep(tx, order.order_id, order.step, log.outcome, log.detail ?? null);
      // The next remote step is marked started in the same commit: its state is stored before its call
      // (and, for the charge, that a charge was attempted: transition() sets it), with one commit a step.
      if (to.step !== order.step && isRemote(to.step)) await logStep(tx, order.order_id, to.step, "started");
      for (const event of events) await writeEvent(tx, event);
      await also?.(tx);
      return row;
    });
    if (next && events.length) outbox?.wake();
    return next;
  }

  function apply(order: OrderRow, outcome: StepOutcome) {
    const { order_id, user_id } = order;
    switch (outcome.kind) {
      case "succeeded": {
        const events: OutboxEvent[] =
          order.step === "charge" && outcome.patch?.payment_id
            ? [{ type: "order.paid", payload: { order_id, user_id, payment_id: outcome.patch.payment_id, amount_cents: order.total_cents } }]
            : [];
        return move(order, { step: nextStep(order.step), ...outcome.patch }, { outcome: "succeeded", detail: outcome.detail }, events);
      }
      case "skipped":
        return move(order, { step: nextStep(order.step) }, { outcome: "skipped", detail: outcome.detail });
      case "failed":
        // Compensations run in reverse from here: refund (if a charge was attempted), release, cancel.
        return move(order, { step: "refund", failure: outcome }, { outcome: "failed", detail: outcome.reason });
      case "retry": {
        const attempts = order.attempts + 1;
        logger.warn("saga step will be retried", { order_id, step: order.step, attempts, detail: outcome.detail, error: outcome.error ?? null });
        return move(order, { step: order.step, attempts, nextAttemptInMs: backoff(attempts, outcome.afterMs) }, { outcome: "retrying", detail: outcome.detail });
      }
    }
  }

  /** The local steps: the order's end, with its event, in one transaction. */
  function finish(order: OrderRow) {
    const { order_id, user_id, total_cents } = order;
    if (order.step === "confirm") {
      // A courier may have been assigned (or even delivered) while the saga was still going forward: delivery
      // activates on order.paid. Those events were recorded on the order; it ships now that it is confirmed.
      return move(
        order,
        { step: "done", status: "confirmed", unlessCancelRequested: true },
        { outcome: "succeeded" },
        [{ type: "order.confirmed", payload: { order_id, user_id, total_cents } }],
        (tx) => catchUpWithDelivery(tx, order_id),
      );
    }
    const reason = order.cancel_reason ?? "cancelled";
    return move(order, { step: "done", status: "cancelled" }, { outcome: "succeeded", detail: reason }, [{ type: "order.cancelled", payload: { order_id, user_id, reason } }]);
  }

  async function drive(orderId: number): Promise<void> {
    let order = await claimOrder(sql, orderId, owner, leaseMs);
    if (!order) return;
    const items = await listItems(sql, orderId);
    try {
      while (order && order.step !== "done" && !stopped) {
        if (order.cancel_requested && FORWARD.includes(order.step)) {
          // The customer cancelled while the saga was going forward: compensate from here.
          const reason = "at the customer's request";
          order = await move(order, { step: "refund", failure: { code: "CANCELLED", reason } }, { outcome: "skipped", detail: reason });
          continue;
        }
        if (order.step === "confirm" || order.step === "cancel") {
          // null: a cancel arrived just now (confirm refused); read the order again and turn around.
          order = (await finish(order)) ?? (await claimOrder(sql, orderId, owner, leaseMs));
          continue;
        }
        const step = order.step;
        crashIf(step, "before");
        const startedAt = performance.now();
        const outcome = await runStep(step, { order, items, clients, now, giveUpMs, chargeMarginMs });
        options.stepDuration?.observe([step, outcome.kind], (performance.now() - startedAt) / 1000);
        crashIf(step, "after");
        order = await apply(order, outcome);
        if (order && outcome.kind === "retry") {
          if (order.attempts > inProcessRetries || stopped) break;
          await sleep(backoff(order.attempts, outcome.afterMs));
        }
      }
    } finally {
      await releaseLease(sql, orderId, owner);
    }
  }

  function run(orderId: number): Promise<void> {
    const current = running.get(orderId);
    if (current) return current;
    const driving = drive(orderId)
      .catch((err) => logger.error("saga run failed; the sweeper will resume it", { order_id: orderId, error: (err as Error).message }))
      .finally(() => running.delete(orderId));
    running.set(orderId, driving);
    return driving;
  }

  let lastPurge = -Infinity;
  async function sweep() {
    if (now() - lastPurge > 5 * 60_000) {
      lastPurge = now();
      // Checkout's keys past their 24 h: the sweeper is the one loop every orders process runs.
      await purgeKeys(sql, KEY_RETENTION_HOURS).catch((err) => logger.warn("could not purge old idempotency keys", { error: (err as Error).message }));
    }
    const room = concurrency - running.size;
    if (room <= 0) return;
    for (const { order_id } of await dueSagas(sql, room)) if (!running.has(order_id)) void run(order_id);
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      sweeping = sweep()
        .catch((err) => logger.error("saga sweeper could not read the orders; retrying", { error: (err as Error).message }))
        .finally(schedule);
    }, sweepMs);
    timer.unref?.();
  };

  return {
    run,
    start() {
      sweeping = sweep()
        .catch((err) => logger.error("saga sweeper could not read the orders; retrying", { error: (err as Error).message }))
        .finally(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await sweeping;
      await Promise.all(running.values());
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
