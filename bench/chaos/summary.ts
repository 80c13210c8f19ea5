// The chaos run's figures: from the recorded answers, kills and event counts to the verdict, the printed
// summary and the markdown section kept in bench/RESULTS.md.
import { CHAOS_END, CHAOS_START, num, table } from "../report.ts";
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
};

type Recovery = Kill & { fullMs: number | null; notFull: number };

/**
 * Per kill: the time from the SIGKILL to the first full listing among those sent after the restart began (a
 * listing served from the BFF's products cache while the service was dead does not count as recovery), and
 * how many listings were not full in between.
 */
export function recoveries(kills: Kill[], listings: Answer[]): Recovery[] {
  return kills.map((k) => {
    const first = listings.filter((a) => a.full && a.sentMs >= k.respawnMs).sort((a, b) => a.doneMs - b.doneMs)[0];
    const until = first?.doneMs ?? Number.POSITIVE_INFINITY;
    const notFull = listings.filter((a) => !a.full && a.sentMs >= k.killMs && a.sentMs < until).length;
    return { ...k, fullMs: first ? first.doneMs - k.killMs : null, notFull };
  });
}

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
  const rec = recoveries(run.kills, listings);
  const bffRestarts = run.unexpectedExits.filter((e) => e.app === "bff");
  const otherExits = run.unexpectedExits.filter((e) => e.app !== "bff");
  const total = run.events.reduce(
    (t, c) => ({ written: t.written + c.written, published: t.published + c.published, found: t.found + c.found, completed: t.completed + c.completed, failed: t.failed + c.failed }),
    { written: 0, published: 0, found: 0, completed: 0, failed: 0 },
  );
  const eventsLost = total.published !== total.written || total.found !== total.written;
  const ok = bffRestarts.length === 0 && !eventsLost;
  // Times are counted from the start of the load.
  const at = (ms: number) => `${((ms - run.loadStartMs) / 1000).toFixed(1)} s`;
  const connErrors = [...listings, ...writes].filter((a) => a.outcome === "connection error");
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
    ["outbox events written / published / found in Redis (must be equal)", `${num(total.written)} / ${num(total.published)} / ${num(total.found)}${eventsLost ? " **LOST**" : ""}`],
    ["their jobs completed / failed", `${num(total.completed)} / ${num(total.failed)} (waited ${s(run.eventsWaitedMs)} after the load)`],
  ];
  const killRows = rec.map((r) => [r.target, at(r.killMs), s(r.readyMs === null ? null : r.readyMs - r.killMs, 2), s(r.fullMs, 2), num(r.notFull)]);
  const killHead = ["killed", "into the load", "kill to ready again", "kill to full listing", "listings not full meanwhile"];
  const eventRows = run.events.map((c) => [c.service, num(c.written), num(c.published), num(c.found), num(c.completed), num(c.failed)]);
  const eventHead = ["outbox of", "written", "published", "job in Redis", "completed", "failed"];
  const verdict = ok ? "passed" : `FAILED: ${[bffRestarts.length ? `${bffRestarts.length} BFF restart(s)` : "", eventsLost ? "events lost" : ""].filter(Boolean).join(", ")}`;

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
