// A fault matrix for the real notifications process: every fault the proxy can make, applied in turn to the
// favorites service and to the webhook (the other one passing), against ONE service process that has to
// survive all of it. Each cell adds a batch of jobs as the outbox relays do and checks what an operator would:
// the process is up and healthy, every job ended (completed, or failed as a dead letter naming its cause,
// after the attempts the cause deserves), and once the upstream is back and the dead letters are retried
// (dead-letters.ts), each recipient has exactly one inbox row per event and the webhook a signed delivery.
//
// The worker's breakers are not configurable from the environment (index.ts), so they keep their defaults
// (BREAKER_DEFAULTS: open after >= 50% failures of >= 5 calls in 10 s, for 5 s). The cells are laid out so
// they rarely open: favorites pages of one user (each job reads 4 pages when all is well, so a recovered cell
// adds more successes than its failed attempts added failures), and favorites and webhook cells alternate.
// If a noisy run opens one anyway, the failed reason may be the open circuit instead of the cause (the cause
// is then still in an earlier attempt's trace), and the recovery retries again until the breaker's half-open
// probes let the jobs through.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { BREAKER_DEFAULTS } from "@storefront/shared/circuit-breaker";
import { EVENT_JOB_OPTIONS, NOTIFICATIONS_QUEUE, type EventJobData } from "@storefront/shared/notifications/events";
import { createFaultProxy, describeFaultMode, EVERY_FAULT, type FaultMode, type FaultProxy } from "@storefront/shared/testing/fault-proxy";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { listDeadLetters, retryAllDeadLetters } from "./dead-letters.ts";
import { backInStockContent, priceDroppedContent, type Content } from "./notification-content.ts";
import { inboxOf, READY_TIMEOUT_MS, serviceStorage, startService, type ServiceProcess } from "./testing/service-process.ts";
import { counterTotal, probe } from "./testing/service-probes.ts";
import { settleJobs } from "./testing/settle-jobs.ts";
import { startStubServices, type StubServices } from "./testing/stub-services.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./testing/webhook-receiver.ts";
import { newEvent } from "./testing/worker-harness.ts";

const redisUp = await requireRedis("notifications fault matrix");

const SECRET = "fault-matrix-secret";
const DEADLINE_MS = 300;
const ATTEMPTS = 3;
/** As the relays add them (EVENT_JOB_OPTIONS), with retries small enough for a test. */
const JOB_OPTIONS = { ...EVENT_JOB_OPTIONS, attempts: ATTEMPTS, backoff: { type: "fixed" as const, delay: 50 }, removeOnFail: false };
/** product_id -> who favorited it; users 2, 3 and 5 favorited two products each. */
const FAVORITES = new Map([
  [101, [1, 2, 3]],
  [102, [2, 4, 5]],
  [103, [3, 5, 6]],
]);
const USERS = [...new Set([...FAVORITES.values()].flat())].sort((a, b) => a - b);
/** Bound for a batch to end: 3 attempts of 300 ms deadlines take about 1 s; the machine is shared and noisy. */
const SETTLE_MS = 20_000;
const CELL_TIMEOUT_MS = 2 * SETTLE_MS + BREAKER_DEFAULTS.openMs + 10_000;
const PASS: FaultMode = { kind: "pass" };

// Two more than every fault: a 503 with Retry-After, and a 404 that no retry can help.
const MODES: FaultMode[] = [...EVERY_FAULT, { kind: "status", status: 503, retryAfter: "1" }, { kind: "status", status: 404 }];

type Target = "favorites" | "webhook";
type Expected =
  /** receiverSees: whether the webhook receiver itself gets the deliveries in the faulty phase. */
  | { ends: "completed"; receiverSees: boolean; why: string }
  | { ends: "failed"; cause: RegExp; attempts: number; why: string };

const TIMEOUT = /deadline of \d+ ms exceeded/;
const CONNECTION = /ECONNRESET|ECONNREFUSED|socket connection was closed|Unable to connect/;
const openCircuit = (target: Target) => new RegExp(`circuit for ${target} is open`);

function expected(target: Target, mode: FaultMode): Expected {
  switch (mode.kind) {
    case "pass":
    case "slow":
      return { ends: "completed", receiverSees: true, why: "within the deadline" };
    case "blackhole":
    case "stall":
      return { ends: "failed", cause: TIMEOUT, attempts: ATTEMPTS, why: "timeout" };
    case "reset":
    case "refused":
      return { ends: "failed", cause: CONNECTION, attempts: ATTEMPTS, why: "connection error" };
    case "status":
      if (mode.status >= 500) return { ends: "failed", cause: new RegExp(`${target} answered ${mode.status}`), attempts: ATTEMPTS, why: `status ${mode.status}` };
      // A 4xx refuses this very request: asking again cannot help, so the job ends at its first attempt.
      return target === "favorites"
        ? { ends: "failed", cause: /favorites answered 404/, attempts: 1, why: "status 404, unrecoverable" }
        : { ends: "failed", cause: /webhook refused the delivery with 404/, attempts: 1, why: "status 404, unrecoverable" };
    case "not_json":
    case "wrong_shape":
      // The favorites answer is parsed and refused. The webhook's answer body is never read: a 2xx is the
      // receiver's acknowledgement whatever it says, so the proxy answering 200 in its place counts as delivered.
      return target === "favorites"
        ? { ends: "failed", cause: /favorites sent an invalid response/, attempts: ATTEMPTS, why: "invalid response" }
        : { ends: "completed", receiverSees: false, why: "a 2xx acknowledges, whatever its body" };
  }
}

let stubs: StubServices;
let receiver: WebhookReceiver;
let favoritesProxy: FaultProxy;
let webhookProxy: FaultProxy;
let service: ServiceProcess;
let queue: Queue;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
/** One line per cell, printed at the end: what each fault did and how long the cell took. */
const summary: string[] = [];
let breakerRefusals = 0;

let seq = 0;
/** One event per product, each with words of its own (the sequence number), so its inbox rows can be told apart. */
function newBatch(): EventJobData[] {
  return [...FAVORITES.keys()].map((productId, i) => {
    seq++;
    return i % 2 === 0
      ? newEvent({ type: "stock.back_in_stock", payload: { product_id: productId, inventory: seq } })
      : newEvent({ type: "price.dropped", payload: { product_id: productId, product_name: `matrix item ${seq}`, old_price_cents: 20_000 + seq, new_price_cents: 10_000 + seq } });
  });
}

const contentOf = (event: EventJobData): Content =>
  event.type === "stock.back_in_stock" ? backInStockContent(event.payload) : event.type === "price.dropped" ? priceDroppedContent(event.payload) : { title: "", body: "" };
const recipientsOf = (event: EventJobData) => (event.type === "stock.back_in_stock" || event.type === "price.dropped" ? FAVORITES.get(event.payload.product_id)! : []);

async function expectServiceUp(cell: string) {
  expect({ cell, exitCode: service.proc.exitCode, signal: service.proc.signalCode ?? null }).toEqual({ cell, exitCode: null, signal: null });
  const health = await probe(`${service.url}/health`);
  expect({ cell, status: "status" in health ? health.status : health.error }).toEqual({ cell, status: 200 });
  const metrics = await probe(`${service.url}/metrics`);
  expect("status" in metrics && metrics.status).toBe(200);
  // process_unhandled_errors_total comes with the shared process guards (shared/src/process-guards.ts); on a
  // tree without them the line is absent and there is nothing to count.
  const unhandled = "body" in metrics ? counterTotal(metrics.body, "process_unhandled_errors_total") : undefined;
  if (unhandled !== undefined) expect({ cell, unhandled }).toEqual({ cell, unhandled: 0 });
  expect(service.output.filter((line) => /unhandled|uncaught/i.test(line))).toEqual([]);
}

/**
 * Retries every dead letter as `dead-letters.ts retry --all` does, until the cell's jobs have all completed.
 * Only an open breaker may refuse them again (it stays open BREAKER_DEFAULTS.openMs, then half-open probes
 * close it); any other failure with every upstream passing fails the test. Returns the rounds it took.
 */
async function retryUntilDrained(cell: string, ids: string[]): Promise<number> {
  const giveUpAt = Date.now() + BREAKER_DEFAULTS.openMs + SETTLE_MS;
  for (let round = 1; ; round++) {
    const results = await retryAllDeadLetters(queue);
    expect(results.filter((r) => !r.retried)).toEqual([]);
    const { failed } = await settleJobs(queue, ids, SETTLE_MS);
    if (failed.length === 0) return round;
    const refusedByBreaker = (job: Job) => /circuit for \w+ is open/.test(job.failedReason);
    expect({ cell, failedAgain: failed.filter((j) => !refusedByBreaker(j)).map((j) => `${j.id}: ${j.failedReason}`) }).toEqual({ cell, failedAgain: [] });
    if (Date.now() > giveUpAt) throw new Error(`${cell}: the breaker still refused ${failed.length} jobs after ${round} rounds of retries`);
    await Bun.sleep(250);
  }
}

/** Exactly one inbox row per (event, recipient), none for anyone else, read through the service's own API. */
async function expectInboxExactlyOnce(cell: string, events: EventJobData[]) {
  const counts: Record<string, number> = {};
  const want: Record<string, number> = {};
  for (const user of USERS) {
    const inbox = (await inboxOf(service, user, stubs.issuer)) as { title: string; body?: string }[];
    for (const event of events) {
      const { title, body } = contentOf(event);
      const key = `user ${user} / ${event.type} ${event.event_id}`;
      counts[key] = inbox.filter((item) => item.title === title && item.body === body).length;
      want[key] = recipientsOf(event).includes(user) ? 1 : 0;
    }
  }
  expect({ cell, counts }).toEqual({ cell, counts: want });
}

/** The receiver got at least one validly signed delivery per (event, recipient), or none where a proxy answered in its place. */
function expectWebhookDeliveries(cell: string, events: EventJobData[], receiverSees: boolean) {
  const ids = new Set(events.map((e) => e.event_id));
  const ours = receiver.deliveries.filter((d) => ids.has(d.body.event_id));
  expect({ cell, invalid: ours.filter((d) => !d.signatureValid || d.eventIdHeader !== d.body.event_id).length }).toEqual({ cell, invalid: 0 });
  const accepted = receiver.accepted();
  const missing = events.flatMap((event) =>
    recipientsOf(event)
      .filter((user) => !accepted.some((d) => d.body.event_id === event.event_id && d.body.user_id === user))
      .map((user) => `${event.event_id} -> user ${user}`),
  );
  if (receiverSees) expect({ cell, missing }).toEqual({ cell, missing: [] });
  else expect({ cell, delivered: ours.length }).toEqual({ cell, delivered: 0 });
}

async function runCell(target: Target, mode: FaultMode) {
  const cell = `${target} ${describeFaultMode(mode)}`;
  const want = expected(target, mode);
  const faulty = target === "favorites" ? favoritesProxy : webhookProxy;
  const started = performance.now();
  // Whatever an earlier cell left behind, this one starts with both upstreams passing but its own.
  await favoritesProxy.setMode(PASS);
  await webhookProxy.setMode(PASS);
  await faulty.setMode(mode);
  faulty.resetCounts();

  const events = newBatch();
  for (const event of events) await queue.add(event.type, event, { ...JOB_OPTIONS, jobId: event.event_id });
  const ids = events.map((e) => e.event_id);
  const first = await settleJobs(queue, ids, SETTLE_MS);
  await expectServiceUp(cell);

  let rounds = 0;
  let outcome: string;
  if (want.ends === "completed") {
    expect({ cell, failed: first.failed.map((j) => `${j.id}: ${j.failedReason}`) }).toEqual({ cell, failed: [] });
    if (!want.receiverSees) expect(faulty.requests).toBeGreaterThanOrEqual(events.reduce((n, e) => n + recipientsOf(e).length, 0));
    outcome = `${first.completed.length} completed (attempts ${first.completed.map((j) => j.attemptsMade).join("/")})`;
  } else {
    expect({ cell, completed: first.completed.map((j) => j.id) }).toEqual({ cell, completed: [] });
    const circuit = openCircuit(target);
    const seen = first.failed.map((job) => {
      // An open breaker may have refused the later attempts; then an earlier one must have met the fault itself.
      const refused = circuit.test(job.failedReason);
      if (refused) breakerRefusals++;
      const metCause = refused ? (job.stacktrace ?? []).some((trace) => want.cause.test(trace)) : want.cause.test(job.failedReason);
      return { attemptsMade: job.attemptsMade, metCause, reason: job.failedReason };
    });
    expect({ cell, seen: seen.map(({ attemptsMade, metCause }) => ({ attemptsMade, metCause })) }).toEqual({
      cell,
      seen: ids.map(() => ({ attemptsMade: want.attempts, metCause: true })),
    });
    const letters = new Set((await listDeadLetters(queue)).map((d) => d.id));
    expect(ids.filter((id) => !letters.has(id))).toEqual([]);
    outcome = `${first.failed.length} dead letters after ${seen.map((s) => s.attemptsMade).join("/")} attempts: ${seen[0]!.reason.replace(/\s+/g, " ").slice(0, 70)}`;

    await faulty.setMode(PASS);
    rounds = await retryUntilDrained(cell, ids);
    await expectServiceUp(cell);
  }

  await expectInboxExactlyOnce(cell, events);
  expectWebhookDeliveries(cell, events, want.ends === "failed" || want.receiverSees);
  const retried = rounds ? `; retried, completed in ${rounds} round${rounds > 1 ? "s" : ""}` : "";
  summary.push(`${cell.padEnd(36)} ${String(Math.round(performance.now() - started)).padStart(5)} ms  ${outcome}${retried}`);
}

describe.skipIf(!redisUp)("the notifications process under every fault of favorites and of the webhook", () => {
  beforeAll(async () => {
    const prefix = uniquePrefix("notifications-fault-matrix");
    const storage = await serviceStorage();
    cleanups.push(storage.cleanup, () => deletePrefix(testRedisUrl, prefix));
    stubs = await startStubServices();
    for (const [product, users] of FAVORITES) stubs.favorites.set(product, users);
    receiver = startWebhookReceiver(SECRET);
    cleanups.push(() => stubs.stop(), () => receiver.stop());
    favoritesProxy = await createFaultProxy({ upstreamPort: Number(new URL(stubs.url).port) });
    webhookProxy = await createFaultProxy({ upstreamPort: Number(new URL(receiver.url).port) });
    cleanups.push(() => favoritesProxy.close(), () => webhookProxy.close());
    const connection = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(NOTIFICATIONS_QUEUE, { connection, prefix });
    cleanups.push(() => connection.disconnect(), () => queue.close());

    service = await startService({
      ...storage.env,
      // The worker's token exchange and the HTTP side's keys go straight to the users stub, never through a proxy.
      ...stubs.serviceEnv,
      QUEUE_PREFIX: prefix,
      FAVORITES_URL: favoritesProxy.url,
      CART_URL: stubs.url,
      NOTIFY_WEBHOOK_URL: `${webhookProxy.url}${new URL(receiver.url).pathname}`,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      FAVORITES_DEADLINE_MS: String(DEADLINE_MS),
      NOTIFY_WEBHOOK_DEADLINE_MS: String(DEADLINE_MS),
      // One user a page: a job reads four pages, so recovered cells outweigh failed attempts in the breakers' windows.
      FAVORITES_PAGE_SIZE: "1",
      WORKER_LOCK_MS: "2000",
      SHUTDOWN_GRACE_MS: "1000",
      // info, not warn: startService waits for the "worker ready" line, which is logged at info.
      LOG_LEVEL: "info",
    });
    cleanups.push(() => service.stop());
  }, READY_TIMEOUT_MS + 20_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((err) => console.error("cleanup failed:", err));
    if (summary.length) console.log(`fault matrix (breaker refusals seen: ${breakerRefusals}):\n${summary.join("\n")}`);
  }, 30_000);

  // Favorites and webhook cells alternate, so neither breaker sees two failing cells in a row.
  for (const mode of MODES) {
    for (const target of ["favorites", "webhook"] as const) {
      const want = expected(target, mode);
      const ends =
        want.ends === "completed"
          ? `every job completes (${want.why})`
          : `every job ends as a dead letter naming the ${want.why} after ${want.attempts === 1 ? "its first attempt" : `all ${want.attempts} attempts`}, then completes on retry`;
      test(`${target} ${describeFaultMode(mode)}: ${ends}; the process stays up, one inbox row per recipient`, () => runCell(target, mode), CELL_TIMEOUT_MS);
    }
  }

  test("the same process survived the whole matrix: nothing active, waiting, delayed or failed is left", async () => {
    await expectServiceUp("after the matrix");
    const counts = await queue.getJobCounts("active", "wait", "delayed", "failed", "prioritized", "waiting-children");
    expect(counts).toEqual({ active: 0, wait: 0, delayed: 0, failed: 0, prioritized: 0, "waiting-children": 0 });
    expect(receiver.deliveries.filter((d) => !d.signatureValid)).toEqual([]);
  });
});
