// The chaos run's figures: from the recorded answers, kills, event counts and the checkout ledger to the verdict,
// the printed summary and the markdown section kept in bench/RESULTS.md.
import { CHAOS_END, CHAOS_START, num, table } from "../report.ts";
import type { CheckoutLedger } from "./checkout-ledger.ts";
import type { Attempt, CheckoutLoad } from "./checkouts.ts";
import type { Answer, LoadResult } from "./load.ts";
import type { OutboxCount } from "./outbox.ts";
import type { UnexpectedExit } from "./supervisor.ts";

export type Kill = {
  target: string;
  /** performance.now() at the SIGKILL, at the restart's spawn, and when it answered /ready again (null: never). */
  killMs: number;
  respawnMs: number;
  readyMs: number | null;
};

export type ChaosRun = {
  command: string;
  date: string;
  commit: string;
  cores: number;
  seconds: number;
  settings: [string, string][];
  loadStartMs: number;
  load: LoadResult;
  kills: Kill[];
  /** Kills left out because the run was too short for them. */
  skipped: string[];
  unexpectedExits: UnexpectedExit[];
  events: OutboxCount[];
  eventsWaitedMs: number;
  checkouts: CheckoutLoad;
  /** How long the run waited after the load for every order to end. */
  ordersWaitedMs: number;
  ledger: CheckoutLedger;
};

type Recovery = Kill & { fullMs: number | null; notFull: number; confirmedMs: number | null; checkoutRetries: number };

/**
 * Per kill: the time from the SIGKILL to the first full listing among those sent after the restart began (a
 * listing served from the BFF's products cache while the service was dead does not count as recovery), and
 * how many listings were not full in between; the same for checkouts: the first checkout request answered 201
 * among those sent after the restart began, and how many checkout requests in between had to be asked again.
 */
export function recoveries(kills: Kill[], listings: Answer[], checkoutAttempts: Attempt[] = []): Recovery[] {
  return kills.map((k) => {
    const first = listings.filter((a) => a.full && a.sentMs >= k.respawnMs).sort((a, b) => a.doneMs - b.doneMs)[0];
    const until = first?.doneMs ?? Number.POSITIVE_INFINITY;
    const notFull = listings.filter((a) => !a.full && a.sentMs >= k.killMs && a.sentMs < until).length;
    const confirmed = checkoutAttempts.filter((a) => a.outcome === 201 && a.sentMs >= k.respawnMs).sort((a, b) => a.doneMs - b.doneMs)[0];
    const confirmedUntil = confirmed?.doneMs ?? Number.POSITIVE_INFINITY;
    const checkoutRetries = checkoutAttempts.filter((a) => isRetried(a) && a.sentMs >= k.killMs && a.sentMs < confirmedUntil).length;
    return { ...k, fullMs: first ? first.doneMs - k.killMs : null, notFull, confirmedMs: confirmed ? confirmed.doneMs - k.killMs : null, checkoutRetries };
  });
}

/** A checkout request whose outcome was not known, so the client asked again (or would have). */
const isRetried = (a: Attempt) => typeof a.outcome !== "number" || a.outcome >= 500 || a.outcome === 429 || a.code === "IDEMPOTENCY_IN_PROGRESS";
const attemptKind = (a: Attempt) => [a.code ? `${a.outcome} ${a.code}` : String(a.outcome)];

const countBy = <T>(items: T[], key: (item: T) => string[]): [string, number][] => {
  const counts = new Map<string, number>();
  for (const item of items) for (const k of key(item)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
};

const listingKind = (a: Answer) => [a.outcome === 200 ? (a.full ? "200 full" : "200 not full") : String(a.outcome)];
const statusKind = (a: Answer) => [String(a.outcome)];
const s = (ms: number | null, digits = 1) => (ms === null ? "never" : `${(ms / 1000).toFixed(digits)} s`);
const list = (counts: [string, number][]) => (counts.length ? counts.map(([k, n]) => `${k}: ${num(n)}`).join(", ") : "none");

export function summarize(run: ChaosRun): { ok: boolean; text: string; markdown: string } {
  const { listings, writes, changes } = run.load;
  const { checkouts, missedSlots } = run.checkouts;
  const attempts = checkouts.flatMap((c) => c.attempts);
  const rec = recoveries(run.kills, listings, attempts);
  const bffRestarts = run.unexpectedExits.filter((e) => e.app === "bff");
  const otherExits = run.unexpectedExits.filter((e) => e.app !== "bff");
  const total = run.events.reduce(
    (t, c) => ({
      written: t.written + c.written,
      published: t.published + c.published,
      expected: t.expected + c.expected,
      found: t.found + c.found,
      completed: t.completed + c.completed,
      failed: t.failed + c.failed,
    }),
    { written: 0, published: 0, expected: 0, found: 0, completed: 0, failed: 0 },
  );
  const eventsLost = total.published !== total.written || total.found !== total.expected;
  const unanswered = checkouts.filter((c) => c.answer === null);
  const violations = [...(unanswered.length ? [`${unanswered.length} checkout(s) never answered`] : []), ...run.ledger.violations];
  const ok = bffRestarts.length === 0 && !eventsLost && violations.length === 0;
  // Times are counted from the start of the load.
  const at = (ms: number) => `${((ms - run.loadStartMs) / 1000).toFixed(1)} s`;
  const connErrors = [...listings, ...writes].filter((a) => a.outcome === "connection error");
  const ledger = run.ledger;
  const followed = checkouts.filter((c) => c.answer === "202");
  const cancels = checkouts.filter((c) => c.cancelAttempts.length > 0);
  const longest = rec.reduce<Recovery | null>((m, r) => (m === null || (r.fullMs ?? Infinity) > (m.fullMs ?? Infinity) ? r : m), null);

  const figures: [string, string][] = [
    ["BFF restarts (must be 0)", `${bffRestarts.length}${bffRestarts.length ? ` (into the load: ${bffRestarts.map((e) => `${at(e.atMs)}: ${e.how}`).join("; ")})` : ""}`],
    ["other apps that exited on their own", otherExits.length ? otherExits.map((e) => `${e.app} ${at(e.atMs)} into the load (${e.how})`).join("; ") : "none"],
    ["listings sent", `${num(listings.length)}: ${list(countBy(listings, listingKind))}`],
    ["listings not full outside the kill windows (kill to full listing)", num(listings.filter((a) => !a.full).length - rec.reduce((n, r) => n + r.notFull, 0))],
    ["parts missing from 200 listings that were not full", list(countBy(listings.filter((a) => a.outcome === 200 && !a.full), (a) => a.detail))],
    ["cart writes sent", `${num(writes.length)}: ${list(countBy(writes, statusKind))}`],
    ["stock and price changes sent (BFF /admin routes)", `${num(changes.length)}: ${list(countBy(changes, statusKind))}`],
    ["connection errors (listings + writes)", `${num(connErrors.length)}${connErrors.length ? ` (${list(countBy(connErrors, (a) => a.detail))})` : ""}`],
    ...(run.skipped.length ? ([["not killed (run too short)", run.skipped.join(", ")]] as [string, string][]) : []),
    ["longest kill to full listing", longest ? `${s(longest.fullMs)} (${longest.target})` : "no kills"],
    [
      "checkouts started (one item in the cart, a fresh Idempotency-Key, tok_visa)",
      `${num(checkouts.length)}: ${list(countBy(checkouts, (c) => [c.answer ?? "no answer"]))}${missedSlots ? ` (${num(missedSlots)} slots passed while a customer's checkout was still open)` : ""}`,
    ],
    ["checkout requests sent (retries with the same key included)", `${num(attempts.length)}: ${list(countBy(attempts, attemptKind))}`],
    ["202 answers followed to the order's end", followed.length ? list(countBy(followed, (c) => [c.followedTo ?? "never read"])) : "none"],
    ["cancels by the customer (every 4th confirmed order)", cancels.length ? `${num(cancels.length)}: ${list(countBy(cancels, (c) => [c.cancelAnswer ?? "no answer"]))}` : "none"],
    ["orders in the orders database", `${num(ledger.orders)}: ${list(ledger.byStatus)}; not ended ${s(run.ordersWaitedMs)} after the load: ${num(ledger.notTerminal.length)} (must be 0)`],
    ["orders charged / of them refunded (payments' provider ledger)", `${num(ledger.charged)} / ${num(ledger.refunded)}`],
    [
      "checkout products' stock: on hand before - committed = on hand now; reserved now",
      ledger.stock.map((p) => `product ${p.product}: ${num(p.before)} - ${num(p.committed)} = ${num(p.now)}; ${num(p.reserved)}`).join("; "),
    ],
    ["deliveries in the delivery database", list(ledger.deliveries)],
    ["checkout violations (must be none)", violations.length ? `**${violations.join("; ")}**` : "none"],
    [
      "outbox events written / published; jobs expected / found in Redis (must be equal)",
      `${num(total.written)} / ${num(total.published)}; ${num(total.expected)} / ${num(total.found)}${eventsLost ? " **LOST**" : ""}`,
    ],
    ["their jobs completed / failed", `${num(total.completed)} / ${num(total.failed)} (waited ${s(run.eventsWaitedMs)} after the orders had ended)`],
  ];
  const killRows = rec.map((r) => [
    r.target,
    at(r.killMs),
    s(r.readyMs === null ? null : r.readyMs - r.killMs, 2),
    s(r.fullMs, 2),
    num(r.notFull),
    s(r.confirmedMs, 2),
    num(r.checkoutRetries),
  ]);
  const killHead = ["killed", "into the load", "kill to ready again", "kill to full listing", "listings not full meanwhile", "kill to confirmed checkout", "checkout requests asked again meanwhile"];
  const eventRows = run.events.map((c) => [c.service, num(c.written), num(c.published), num(c.expected), num(c.found), num(c.completed), num(c.failed)]);
  const eventHead = ["outbox of", "written", "published", "jobs expected", "jobs in Redis", "completed", "failed"];
  const failures = [bffRestarts.length ? `${bffRestarts.length} BFF restart(s)` : "", eventsLost ? "events lost" : "", violations.length ? "checkout violations" : ""];
  const verdict = ok ? "passed" : `FAILED: ${failures.filter(Boolean).join(", ")}`;

  const text = [
    `chaos run: ${verdict}`,
    ...figures.map(([k, v]) => `  ${k}: ${v.replaceAll("**", "")}`),
    "",
    ...plain(killHead, killRows),
    "",
    ...plain(eventHead, eventRows),
    ...bffRestarts.flatMap((e) => ["", `BFF exit ${at(e.atMs)} into the load (${e.how}), its last log lines:`, ...e.lastLines.split("\n").map((l) => `  ${l.slice(0, 300)}`)]),
  ].join("\n");

  const markdown = [
    CHAOS_START,
    "## Chaos run",
    "",
    `Written by \`${run.command}\` (bench/chaos.ts): ${verdict}.`,
    "",
    ...table(["run", "value"], [["date", run.date], ["commit", run.commit], ["cores", String(run.cores)], ...run.settings]),
    "",
    ...table(["figure", "value"], figures),
    "",
    ...table(killHead, killRows),
    "",
    ...table(eventHead, eventRows),
    "",
    "Kill to ready: from the SIGKILL until the restarted process answered `/ready` (polled every 100 ms). Kill to full listing: from the",
    "SIGKILL to the first full listing (200, `degraded` [], not stale) among the listings sent after the restart began. \"Listings not",
    "full meanwhile\" says whether clients saw the outage at all: the BFF serves its cached catalogue for up to 6 s",
    "(PRODUCTS_CACHE_TTL_MS + PRODUCTS_CACHE_SWR_MS), so a 2 s products outage can pass unseen; a listing needs neither",
    "notifications, nor Redis (the BFF's rate limits count in memory meanwhile), nor users (every app keeps the keys it fetched).",
    "Kill to confirmed checkout: from the SIGKILL to the first checkout request answered 201 among those sent after the restart",
    "began; \"asked again\" counts the checkout requests in between answered 5xx, 409 IDEMPOTENCY_IN_PROGRESS or not at all. Jobs",
    "expected: one per outbox row and queue subscribed to its type (`SUBSCRIPTIONS` in shared/src/notifications/events.ts; a",
    "product.changed is broadcast, not queued, and expects none). The checkout ledger is read from the orders, payments, inventory and",
    "delivery databases once every order has ended and every event has been handled.",
    CHAOS_END,
  ].join("\n");
  return { ok, text, markdown };
}

/** A plain-text table for the terminal. */
function plain(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(head), ...rows.map(line)];
}
