// The outbox relay: moves a service's unpublished outbox rows to the BullMQ queues subscribed to each event's
// type (events.ts SUBSCRIPTIONS; job id = event id in every queue, so a re-publish after a crash is ignored by
// BullMQ), PUBLISHes the broadcast types (events.ts BROADCASTS) on Redis pub/sub, marks them published, and
// waits out Redis outages without losing an event or holding up a request.
import type { Sql } from "postgres";
import { BROADCASTS, broadcastChannel, EVENT_JOB_OPTIONS, SUBSCRIPTIONS, type EventJobData } from "../notifications/events.ts";
import type { Logger } from "../observability/logger.ts";

export type EventJob = { name: string; data: EventJobData; opts: typeof EVENT_JOB_OPTIONS & { jobId: string } };

/** What the relay needs of a BullMQ Queue; a `Queue` built with producerRedisOptions fits. */
export type EventQueue = {
  addBulk(jobs: EventJob[]): Promise<unknown>;
  /** Resolves once the queue's connection was ready; stays pending while Redis has never answered. */
  waitUntilReady(): Promise<unknown>;
};

/** What the relay needs to PUBLISH broadcast events: an ioredis client with a readiness promise fits. */
export type EventPublisher = {
  publish(channel: string, message: string): Promise<unknown>;
  /** Resolves once the connection was ready; stays pending while Redis has never answered. */
  waitUntilReady(): Promise<unknown>;
};

export type OutboxRelayOptions = {
  sql: Sql;
  /** The consuming services' queues by name; every name in `subscriptions` must be here. */
  queues: Readonly<Record<string, EventQueue>>;
  /** Event type -> the queues that hear it; default events.ts SUBSCRIPTIONS. A type not listed goes nowhere. */
  subscriptions?: Readonly<Record<string, readonly string[]>>;
  /**
   * Where broadcast events go: each one's job data as JSON on broadcastChannel(prefix, type), in the same pass
   * as the queue fan-out and before the row is marked published (a failed PUBLISH rolls the batch back, so it is
   * at least once). Without it a relay broadcasts nothing: the services that emit no broadcast type need none.
   */
  broadcast?: { publisher: EventPublisher; prefix: string; types?: readonly string[] };
  batchSize?: number;
  /** How often to look for rows nobody woke the relay for (another instance's, or written before a crash). */
  pollMs?: number;
  /** The longest wait between two attempts while Redis (or the database) is unreachable. */
  maxBackoffMs?: number;
  /** How long a publish may wait for Redis; the batch's transaction stays open meanwhile, so keep it short. */
  publishTimeoutMs?: number;
  /** Published rows older than a day are deleted at most this often. */
  purgeEveryMs?: number;
  logger: Logger;
};

export type OutboxRelay = {
  start(): void;
  /** Publish now rather than at the next poll; the request path calls it after its transaction commits. */
  wake(): void;
  /** Stops polling and waits for the batch in flight. */
  stop(): Promise<void>;
  /** One batch, errors thrown rather than handled: for tests. Returns how many events were published. */
  publishOnce(): Promise<number>;
  /**
   * Unpublished rows at the end of the last pass (one count per pass, busy or idle); null before the first
   * count. When the database does not answer, the last count stays: a backlog seen stale beats none.
   */
  pendingEvents(): number | null;
};

type OutboxRow = { id: string; type: EventJobData["type"]; payload: EventJobData["payload"]; created_at: Date };

/** Redis did not take the batch; the transaction rolled back and the rows wait for the next attempt. */
export class QueueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`event queues unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "QueueUnavailableError";
  }
}

export const toJob = (row: OutboxRow): EventJob => ({
  name: row.type,
  data: { type: row.type, payload: row.payload, event_id: row.id, occurred_at: row.created_at.toISOString() } as EventJobData,
  opts: { ...EVENT_JOB_OPTIONS, jobId: row.id },
});

/** Rows not yet published; the partial index on published_at is null keeps it cheap however large the table. */
export const countPending = async (sql: Sql) => (await sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n;

/** Deletes published rows older than a day, a bounded number per call so it never turns into a long statement. */
export const purgePublished = (sql: Sql, limit = 10_000) =>
  sql`
    delete from outbox where id in (
      select id from outbox where published_at < now() - interval '1 day' limit ${limit})`;

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  for (const name of new Set(Object.values(options.subscriptions ?? SUBSCRIPTIONS).flat())) {
    if (!options.queues[name]) throw new Error(`outbox relay: no queue "${name}", which events are subscribed to`);
  }
  const { sql, queues, subscriptions = SUBSCRIPTIONS, broadcast, batchSize = 100, pollMs = 1000, maxBackoffMs = 2000, publishTimeoutMs = 2000, purgeEveryMs = 5 * 60_000, logger } = options;

  /** One addBulk per queue with that queue's share of the batch; each row's job in every queue subscribed to its type. */
  const fanOut = (rows: OutboxRow[]) => {
    const byQueue = new Map<string, EventJob[]>();
    for (const row of rows) {
      const job = toJob(row);
      for (const name of subscriptions[row.type] ?? []) byQueue.set(name, [...(byQueue.get(name) ?? []), job]);
    }
    return [...byQueue].map(([name, jobs]) => queues[name]!.addBulk(jobs));
  };

  const broadcastTypes = new Set<string>(broadcast?.types ?? BROADCASTS);
  /** One PUBLISH per broadcast row, in the batch's order (ioredis pipelines them on the one connection). */
  const publishBroadcasts = (rows: OutboxRow[]) =>
    broadcast
      ? rows.filter((row) => broadcastTypes.has(row.type)).map((row) => broadcast.publisher.publish(broadcastChannel(broadcast.prefix, row.type), JSON.stringify(toJob(row).data)))
      : [];

  async function publishOnce(): Promise<number> {
    // A queue whose Redis never answered waits for it inside addBulk instead of failing fast; wait here,
    // before any transaction is open, so an outage at start-up cannot hold a database connection.
    const all = [...Object.values(queues), ...(broadcast ? [broadcast.publisher] : [])];
    await within(Promise.all(all.map((q) => q.waitUntilReady())), publishTimeoutMs, "connecting to Redis").catch((err) => {
      throw new QueueUnavailableError(err);
    });
    return sql.begin(async (tx) => {
      // SKIP LOCKED: a second relay (another instance of the service) takes the next rows instead of waiting.
      const rows = await tx<OutboxRow[]>`
        select id, type, payload, created_at from outbox
        where published_at is null
        order by created_at
        limit ${batchSize}
        for update skip locked`;
      if (rows.length === 0) return 0;
      try {
        await within(Promise.all([...fanOut(rows), ...publishBroadcasts(rows)]), publishTimeoutMs, "adding the jobs");
      } catch (err) {
        throw new QueueUnavailableError(err);
      }
      // Should this commit fail after the jobs were added, the rows are published again: same job ids, ignored.
      await tx`update outbox set published_at = now() where id = any(${tx.array(rows.map((r) => r.id))}::uuid[])`;
      return rows.length;
    });
  }

  let started = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<number> | undefined;
  let wokenDuringPass = false;
  let failures = 0;
  let outage: "redis" | "database" | undefined;
  let lastPurge = -Infinity;
  let pending: number | null = null;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), ms);
    // The service's server keeps the process alive; a relay left running must not.
    timer.unref?.();
  };

  /** Runs one pass and returns the wait before the next: 0 while a full batch suggests more, backoff on failure. */
  async function pass(): Promise<number> {
    try {
      const published = await publishOnce();
      if (outage) logger.info(`${outage === "redis" ? "Redis" : "the database"} is reachable again; pending notifications are being published`, { published });
      outage = undefined;
      failures = 0;
      await purgeIfDue();
      return published === batchSize ? 0 : pollMs;
    } catch (err) {
      failures++;
      const kind = err instanceof QueueUnavailableError ? "redis" : "database";
      // One line per outage, not one per retry.
      if (outage !== kind) {
        outage = kind;
        if (kind === "redis") logger.warn("notifications wait in the outbox until Redis is reachable", { error: (err as Error).message });
        else logger.error("outbox relay cannot read the outbox; retrying", { error: (err as Error).message });
      }
      return Math.min(maxBackoffMs, 250 * 2 ** (failures - 1));
    }
  }

  async function purgeIfDue() {
    if (Date.now() - lastPurge < purgeEveryMs) return;
    lastPurge = Date.now();
    try {
      await purgePublished(sql);
    } catch (err) {
      logger.warn("outbox relay could not purge published rows", { error: (err as Error).message });
    }
  }

  /** After each pass: the backlog for the outbox_pending_events gauge. Redis being down is when it matters most. */
  async function countAfterPass(wait: number): Promise<number> {
    try {
      pending = await countPending(sql);
    } catch {
      // The database is down or busy: the pass already logged that outage; keep the last count.
    }
    return wait;
  }

  async function run() {
    timer = undefined;
    if (stopped || inFlight) return;
    wokenDuringPass = false;
    inFlight = pass().then(countAfterPass);
    const wait = await inFlight;
    inFlight = undefined;
    // A wake() during the pass may be for a row committed after its select: go again at once.
    if (!stopped) schedule(wokenDuringPass && failures === 0 ? 0 : wait);
  }

  return {
    publishOnce,
    pendingEvents: () => pending,
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    wake() {
      // While Redis is down the backoff decides; a burst of requests must not turn into a burst of attempts.
      if (!started || stopped || failures > 0) return;
      if (inFlight) wokenDuringPass = true;
      else schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
