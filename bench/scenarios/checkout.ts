// Scenario 8: checkout. Distinct users, each with a fresh cart of 1-3 lines, check out once each through the
// BFF's POST /checkout, 32 at a time, for a fixed time; reports confirmed orders/s, the client's latency, the
// answers by status, and where an order's time goes: the orders service's saga_log timestamps (per step, and
// the cart and price reads before the saga), its orders_saga_step_duration_seconds histogram, and the cart and
// products services' own request histograms for the two reads. A shorter run with one connection (not judged)
// shows the same timeline without queueing for the CPU.
//
// The users are inserted straight into bench_users (and their carts into bench_cart): registering through the
// BFF would put an argon2 hash per user on the clock, and the bench signs their tokens itself (tokens.ts), so
// nothing on the measured path needs a password. Stock is set out of reach in bench_inventory before the run.
import { randomUUID } from "node:crypto";
import { psql, type BenchDatabase } from "../databases.ts";
import { pidsNamed, watchCpu } from "../proc.ts";
import { atLeast, ms, num, table, type Section, type TargetRow } from "../report.ts";
import { percentile } from "../stats.ts";
import { delta, merge, parseHistograms, quantile, type Scrape, type Series } from "../metrics.ts";
import type { CheckoutStack, RunningApp } from "../stack.ts";
import { bearer, type TokenMint } from "../tokens.ts";

const NAME = "8. checkout";
const TITLE = "8. checkout throughput";
const CONNECTIONS = 32;
const TARGET_ORDERS_PER_S = 200;
const TARGET_P99_MS = 250;
/** Above the seeded users (1-6) and scenario 1's tokens (1-1000), so no seeded cart is touched. */
const FIRST_USER = 100_001;
/** Users prepared per second of run: more than this stack can confirm, so the run ends on time, not on users. */
const USERS_PER_S = 800;
/** The same for the one-connection run, which is slower (a checkout at a time). */
const SINGLE_USERS_PER_S = 200;
/** A checkout not answered by then counts as an error (the BFF's own deadline is 5 s). */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long to wait after the run for orders answered 202 to finish their saga. */
const SETTLE_MS = 30_000;
const BODY = JSON.stringify({
  shipping_address: { name: "Bench Customer", line1: "1 Load Street", city: "Benchville", postal_code: "B3 NCH", country: "GB" },
  card_token: "tok_visa",
});
const REMOTE_STEPS = ["reserve", "charge", "commit", "clear_cart"] as const;

export type CheckoutContext = {
  dbUrls: Record<BenchDatabase, string>;
  stack: CheckoutStack;
  tokens: TokenMint;
  /** Seconds of measured load. */
  runS: number;
  quick: boolean;
  log: (msg: string) => void;
};

type User = { id: number; token: string };
type Answer = { status: number; ms: number; orderId: number | null; code: string | null };
type Run = { answers: Answer[]; elapsedMs: number; ranOut: boolean };

export async function checkout(ctx: CheckoutContext): Promise<Section> {
  const { stack, dbUrls } = ctx;
  const warmUpCount = ctx.quick ? 64 : 320;
  const measuredCount = ctx.runS * USERS_PER_S;
  const singleS = Math.max(1, Math.round(ctx.runS / 2));
  const singleCount = singleS * SINGLE_USERS_PER_S;
  // Three ranges of ids: warm-up, the measured run, the one-connection run.
  const measuredFirst = FIRST_USER + warmUpCount;
  const measuredLast = measuredFirst + measuredCount - 1;
  const singleFirst = measuredLast + 1;
  const singleLast = singleFirst + singleCount - 1;
  const warmUp = await prepareUsers(ctx, FIRST_USER, warmUpCount);
  const measuredUsers = await prepareUsers(ctx, measuredFirst, measuredCount);
  const singleUsers = await prepareUsers(ctx, singleFirst, singleCount);
  await psql(dbUrls.inventory, "update stock set inventory = reserved + 10000000, updated_at = now()");
  ctx.log(`checkout: ${singleLast - FIRST_USER + 1} users with 1-3 cart lines each, stock out of reach`);

  // Warm-up (JIT, connection pools, orders' service token, the apps' key caches), not recorded; it must work.
  const warm = await drive(stack.bff.url, warmUp, 60_000, CONNECTIONS);
  const warmFailures = warm.answers.filter((a) => a.status !== 201 && a.status !== 202);
  if (warmFailures.length === warm.answers.length) {
    throw new Error(`no checkout of the warm-up succeeded; first answer: ${warmFailures[0]?.status} ${warmFailures[0]?.code}`);
  }

  const apps = appsOf(stack);
  const before = await scrapeAll(apps);
  const cpu = watchCpu([...apps.map((a) => a.pid), ...pidsNamed("postgres")]);
  const ownCpu = process.cpuUsage();
  const run = await drive(stack.bff.url, measuredUsers, ctx.runS * 1000, CONNECTIONS);
  const ownUsed = process.cpuUsage(ownCpu);
  const ownCpuMs = (ownUsed.user + ownUsed.system) / 1000;
  const used = cpu.stop();
  const after = await scrapeAll(apps);
  const stillPending = await settle(dbUrls.orders, measuredFirst, measuredLast);
  const statuses = await orderStatuses(dbUrls.orders, measuredFirst, measuredLast);
  const timelines = await readTimelines(dbUrls.orders, measuredFirst, measuredLast);
  // After the measured run has settled, so nothing of it runs beside this one.
  const single = await drive(stack.bff.url, singleUsers, singleS * 1000, 1);
  await settle(dbUrls.orders, singleFirst, singleLast);
  const singleTimelines = await readTimelines(dbUrls.orders, singleFirst, singleLast);

  const confirmed = run.answers.filter((a) => a.status === 201).length;
  const rate = confirmed / (run.elapsedMs / 1000);
  const latencies = run.answers.map((a) => a.ms);
  const p99 = percentile(latencies, 99);
  const byStatus = countBy(run.answers, (a) => (a.status === 0 ? "no answer" : String(a.status)));
  const errors = run.answers.filter((a) => a.status !== 201 && a.status !== 202);
  const errorCodes = countBy(errors, (a) => `${a.status === 0 ? "no answer" : a.status} ${a.code ?? "(no code)"}`);

  const targets: TargetRow[] = [
    atLeast(NAME, "confirmed orders/s (201 answers, 32 conns)", rate, TARGET_ORDERS_PER_S, "/s", `${num(rate)}/s (${num(confirmed)} in ${num(run.elapsedMs / 1000, 1)} s${errors.length ? `, ${errors.length} errors` : ""})`),
    {
      scenario: NAME,
      metric: "checkout p99 (client, every answer)",
      target: `< ${TARGET_P99_MS} ms`,
      measured: ms(p99),
      met: Number.isFinite(p99) ? p99 < TARGET_P99_MS : null,
    },
  ];

  const singleLatencies = single.answers.map((a) => a.ms);
  const singleErrors = single.answers.filter((a) => a.status !== 201 && a.status !== 202).length;
  const cpuRows = cpuPerOrder(apps, used, Math.max(1, confirmed), ownCpuMs);

  return {
    title: TITLE,
    targets,
    body: [
      `${run.answers.length} users, each once, checked out through the BFF's \`POST /checkout\` (own token, a fresh \`Idempotency-Key\`, a 1-3 line`,
      `cart of products 1-10, \`tok_visa\`), ${CONNECTIONS} at a time from keep-alive fetch loops in the bench process, for ${ctx.runS} s after a warm-up of`,
      `${warmUpCount} other users. The users were inserted into bench_users and their carts into bench_cart (registering through the BFF`,
      "would measure argon2, not checkout; the bench signs their tokens); every product's stock was set to 10,000,000 in bench_inventory.",
      "The stack was started afresh for this scenario (users, products, inventory, favorites, cart, payments, orders and a BFF that knows",
      "orders), all with default settings; the BFF's rate limits count every checkout (in the run's Redis, or in memory without one)",
      "with quotas out of reach. \"confirmed orders/s\":",
      "201 answers over the run's time (requests still in flight at the end are waited for). 202: placed, still settling when orders'",
      `CHECKOUT_WAIT_MS (2 s) ran out.${run.ranOut ? " **The prepared users ran out before the time did: the run is shorter than asked.**" : ""}`,
      "",
      ...table(
        ["connections", "checkouts", "201", "202", "errors", "orders/s (201)", "p50", "p90", "p99", "max", "machine busy"],
        [
          [
            String(CONNECTIONS),
            num(run.answers.length),
            num(byStatus.get("201") ?? 0),
            num(byStatus.get("202") ?? 0),
            num(errors.length),
            num(rate),
            ms(percentile(latencies, 50)),
            ms(percentile(latencies, 90)),
            ms(p99),
            ms(Math.max(...latencies)),
            `${num(100 * used.machineBusy)} %`,
          ],
          [
            `1 (not judged, ${singleS} s)`,
            num(single.answers.length),
            num(single.answers.filter((a) => a.status === 201).length),
            num(single.answers.filter((a) => a.status === 202).length),
            num(singleErrors),
            num(single.answers.filter((a) => a.status === 201).length / (single.elapsedMs / 1000)),
            ms(percentile(singleLatencies, 50)),
            ms(percentile(singleLatencies, 90)),
            ms(percentile(singleLatencies, 99)),
            ms(Math.max(...singleLatencies)),
            "",
          ],
        ],
      ),
      "",
      ...(errorCodes.size ? ["Errors by status and code:", "", ...table(["answer", "count"], [...errorCodes].map(([k, v]) => [k, num(v)])), ""] : []),
      `The measured users' orders in bench_orders afterwards${stillPending ? ` (${stillPending} still unfinished after waiting ${SETTLE_MS / 1000} s)` : " (after every one had finished)"}: ` +
        ([...statuses].map(([s, n]) => `${s} ${num(n)}`).join(", ") || "none") +
        ".",
      "",
      "Where a confirmed order's time goes, from its timestamps in bench_orders: `idempotency_keys.created_at` (the key claimed, the",
      "request's first write) and `saga_log.at` (each step's `started` row, written just before the call, and its outcome row, written in",
      "the transaction that moves the saga on; Postgres' `now()` in a transaction is its start). \"rest\" is the client's latency minus",
      "claim -> confirm: the BFF (token check, rate limit, forwarding), orders before the claim (token check, validation) and after the",
      "confirm (storing and reading back the answer), and the network and client. Share: of the mean client latency. With 32",
      "connections every segment includes waiting for a CPU (the machine is saturated); the one-connection columns show the same",
      "order without that queue.",
      "",
      ...timelineTable([
        [`${CONNECTIONS} connections`, timelines, run.answers],
        ["1 connection", singleTimelines, single.answers],
      ]),
      "",
      "The same steps from orders' `orders_saga_step_duration_seconds` (each remote call, by step and outcome, over the measured run;",
      "p50/p99 interpolated within the histogram's buckets, so coarse), and the two reads before the saga from the cart and products",
      "services' own `http_request_duration_seconds` (server side; in this scenario only orders calls these routes). The BFF and orders",
      "rows are the whole checkout as each of them saw it.",
      "",
      ...histogramTable(before, after),
      "",
      "CPU per confirmed order (from /proc, over the measured run): each app, every Postgres backend together, the bench process (the",
      "load generator), and the rest of the machine's busy time.",
      "",
      ...table(
        cpuRows.map(([name]) => name),
        [cpuRows.map(([, v]) => ms(v, 2))],
      ),
    ],
  };
}

/** Users `first`..`first+count-1` in bench_users, each with 1-3 cart lines in bench_cart; their tokens. */
async function prepareUsers(ctx: CheckoutContext, first: number, count: number): Promise<User[]> {
  const last = first + count - 1;
  // Every account gets user 1's password hash: nobody signs in, the rows only make the ids real accounts.
  await psql(
    ctx.dbUrls.users,
    `insert into app_user (id, email, name, password_hash, role)
     select g, 'bench-' || g || '@storefront.test', 'Bench ' || g, (select password_hash from app_user where id = 1), 'customer'
     from generate_series(${first}, ${last}) g;
     select setval(pg_get_serial_sequence('app_user', 'id'), (select max(id) from app_user))`,
  );
  // u % 3 + 1 lines; 7u + 3k (mod 10) gives distinct products for k = 0, 1, 2 and spreads users over all ten.
  await psql(
    ctx.dbUrls.cart,
    `insert into user_cart (user_id, product_id, quantity)
     select u, 1 + (u * 7 + k * 3) % 10, 1 + (u + k) % 2
     from generate_series(${first}, ${last}) u cross join generate_series(0, 2) k
     where k <= u % 3`,
  );
  const ids = Array.from({ length: count }, (_, i) => first + i);
  return Promise.all(ids.map(async (id) => ({ id, token: await ctx.tokens.user(id) })));
}

/** `connections` loops, each checking out the next unused user until `durationMs` has passed or none is left. */
async function drive(bffUrl: string, users: User[], durationMs: number, connections: number): Promise<Run> {
  const answers: Answer[] = [];
  let next = 0;
  const started = performance.now();
  const until = started + durationMs;
  const loop = async () => {
    while (performance.now() < until && next < users.length) answers.push(await checkoutOnce(bffUrl, users[next++]!));
  };
  await Promise.all(Array.from({ length: connections }, loop));
  return { answers, elapsedMs: performance.now() - started, ranOut: next >= users.length };
}

async function checkoutOnce(bffUrl: string, user: User): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(`${bffUrl}/checkout`, {
      method: "POST",
      headers: { ...bearer(user.token), "content-type": "application/json", "idempotency-key": randomUUID() },
      body: BODY,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await res.json().catch(() => null)) as { order_id?: number; error?: { code?: string; order_id?: number } } | null;
    return { status: res.status, ms: performance.now() - started, orderId: body?.order_id ?? body?.error?.order_id ?? null, code: body?.error?.code ?? null };
  } catch (err) {
    const name = (err as Error).name;
    return { status: 0, ms: performance.now() - started, orderId: null, code: name === "TimeoutError" ? "client timeout" : (err as Error).message.slice(0, 80) };
  }
}

/** Waits (bounded) until none of the users' orders is pending or cancelling; how many still are. */
async function settle(ordersUrl: string, first: number, last: number): Promise<number> {
  const until = Date.now() + SETTLE_MS;
  for (;;) {
    const open = Number(await psql(ordersUrl, `select count(*) from orders where user_id between ${first} and ${last} and status in ('pending', 'cancelling')`));
    if (open === 0 || Date.now() >= until) return open;
    await Bun.sleep(250);
  }
}

async function orderStatuses(ordersUrl: string, first: number, last: number): Promise<Map<string, number>> {
  const out = await psql(ordersUrl, `select status, count(*) from orders where user_id between ${first} and ${last} group by status order by status`);
  return new Map(
    out
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [status, count] = line.split("|");
        return [status!, Number(count)];
      }),
  );
}

// ---- The per-order timeline from bench_orders ----

type Timeline = { orderId: number; claim: number; events: { step: string; outcome: string; at: number }[] };

async function readTimelines(ordersUrl: string, first: number, last: number): Promise<Timeline[]> {
  // Epoch milliseconds with microseconds; one line per order: id | claim | step outcome at;step outcome at;...
  const out = await psql(
    ordersUrl,
    `select k.order_id, extract(epoch from k.created_at) * 1000,
       string_agg(l.step || ' ' || l.outcome || ' ' || (extract(epoch from l.at) * 1000)::text, ';' order by l.id)
     from idempotency_keys k join saga_log l on l.order_id = k.order_id
     where k.user_id between ${first} and ${last}
     group by k.order_id, k.created_at`,
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id, claim, events] = line.split("|");
      return {
        orderId: Number(id),
        claim: Number(claim),
        events: events!.split(";").map((e) => {
          const [step, outcome, at] = e.split(" ");
          return { step: step!, outcome: outcome!, at: Number(at) };
        }),
      };
    });
}

/** The segments of a confirmed order's time, in ms; null for an order that was not confirmed. */
function segments(t: Timeline): Map<string, number> | null {
  const startOf = (step: string) => t.events.find((e) => e.step === step && e.outcome === "started")?.at;
  // The last outcome: a step retried has several.
  const endOf = (step: string) => t.events.findLast((e) => e.step === step && e.outcome !== "started")?.at;
  const placed = endOf("placed");
  const confirmed = t.events.find((e) => e.step === "confirm" && e.outcome === "succeeded")?.at;
  if (placed === undefined || confirmed === undefined) return null;
  const out = new Map<string, number>();
  out.set("reads before the saga: cart, then prices (claim -> placed)", placed - t.claim);
  let previous = placed;
  let previousName = "order written, saga claimed (placed -> reserve started)";
  for (const step of REMOTE_STEPS) {
    const start = startOf(step);
    const end = endOf(step);
    if (start === undefined || end === undefined) return null;
    out.set(previousName, start - previous);
    out.set(`${step}: the call (started -> outcome)`, end - start);
    previous = end;
    previousName = `bookkeeping after ${step} (outcome -> next started)`;
  }
  out.set("confirm (clear_cart outcome -> confirmed)", confirmed - previous);
  out.set("claim -> confirmed, in orders", confirmed - t.claim);
  return out;
}

/** Each segment's values over a run's confirmed orders (those whose answer named them), client latency last. */
function segmentValues(timelines: Timeline[], answers: Answer[]): Map<string, number[]> {
  const clientMs = new Map(answers.filter((a) => a.orderId !== null).map((a) => [a.orderId!, a.ms]));
  const values = new Map<string, number[]>();
  const push = (name: string, v: number) => (values.get(name) ?? values.set(name, []).get(name)!).push(v);
  for (const t of timelines) {
    const segs = segments(t);
    const client = clientMs.get(t.orderId);
    if (!segs || client === undefined) continue;
    for (const [name, v] of segs) push(name, v);
    push("rest: BFF, orders before the claim and after the confirm, network", client - segs.get("claim -> confirmed, in orders")!);
    push("client latency", client);
  }
  return values;
}

/** One row per segment: count, p50, p99, mean and share of each run, side by side (the first run's rows lead). */
function timelineTable(runs: [string, Timeline[], Answer[]][]): string[] {
  const perRun = runs.map(([label, timelines, answers]) => ({ label, values: segmentValues(timelines, answers) }));
  const first = perRun[0]!.values;
  if (!first.size) return ["No confirmed order could be matched to its timeline."];
  const head = ["segment"];
  for (const { label } of perRun) head.push(`${label}: orders`, "p50", "p99", "mean", "share");
  const rows = [...first.keys()].map((name) => {
    const row = [name];
    for (const { values } of perRun) {
      const vs = values.get(name) ?? [];
      const clientMean = mean(values.get("client latency") ?? []);
      row.push(num(vs.length), ms(percentile(vs, 50), 1), ms(percentile(vs, 99), 1), ms(mean(vs), 1), `${num((100 * mean(vs)) / clientMean)} %`);
    }
    return row;
  });
  return table(head, rows);
}

// ---- Prometheus histograms, before and after the run ----


function appsOf(stack: CheckoutStack): RunningApp[] {
  return [...Object.values(stack.services), stack.orders, stack.payments, stack.bff];
}

async function scrapeAll(apps: RunningApp[]): Promise<Scrape> {
  const all: Scrape = new Map();
  for (const app of apps) {
    const text = await fetch(`${app.url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    for (const [key, series] of parseHistograms(app.name, text)) all.set(key, series);
  }
  return all;
}

/** Every histogram series in a Prometheus text page, keyed by app, name and labels (le left out). */

function histogramTable(before: Scrape, after: Scrape): string[] {
  const picked: [string, (s: Series) => boolean][] = [
    ["bff: POST /checkout (server)", (s) => s.app === "bff" && s.name === "http_request_duration_seconds" && s.labels.route === "/checkout"],
    ["bff -> orders (upstream call)", (s) => s.app === "bff" && s.name === "bff_upstream_request_duration_seconds" && s.labels.upstream === "orders"],
    ["orders: POST /users/:id/orders (server)", (s) => s.app === "orders" && s.name === "http_request_duration_seconds" && s.labels.method === "POST" && /\/orders$/.test(s.labels.route ?? "")],
    ["cart: GET the cart (server)", (s) => s.app === "cart" && s.name === "http_request_duration_seconds" && s.labels.method === "GET" && /\/cart$/.test(s.labels.route ?? "")],
    ["products: GET /products?ids (server)", (s) => s.app === "products" && s.name === "http_request_duration_seconds" && s.labels.method === "GET" && s.labels.route === "/products"],
  ];
  const rows: string[][] = [];
  const row = (label: string, s: Series) => [label, num(s.count), ms((1000 * s.sum) / s.count, 2), ms(1000 * quantile(s, 0.5), 1), ms(1000 * quantile(s, 0.99), 1)];
  const grown = [...after].map(([key, s]) => delta(s, before.get(key))).filter((s) => s.count > 0);
  for (const step of [...REMOTE_STEPS, "refund", "release"]) {
    for (const s of grown.filter((g) => g.app === "orders" && g.name === "orders_saga_step_duration_seconds" && g.labels.step === step)) {
      rows.push(row(`saga step ${step} (${s.labels.outcome})`, s));
    }
  }
  for (const [label, match] of picked) {
    const matching = grown.filter(match);
    if (matching.length) rows.push(row(label, merge(matching)));
  }
  if (!rows.length) return ["No histogram grew during the run (no /metrics answered?)."];
  return table(["what", "count", "mean", "p50 (est.)", "p99 (est.)"], rows);
}

// ---- Small helpers ----

function cpuPerOrder(apps: RunningApp[], used: ReturnType<ReturnType<typeof watchCpu>["stop"]>, orders: number, ownCpuMs: number): [string, number][] {
  const byName = new Map(apps.map((a) => [a.pid, a.name]));
  const rows = new Map<string, number>();
  let accounted = ownCpuMs;
  for (const [pid, cpuUsed] of used.perPid) {
    if (!Number.isFinite(cpuUsed)) continue; // a Postgres backend that ended meanwhile
    const name = byName.get(pid) ?? "postgres";
    rows.set(name, (rows.get(name) ?? 0) + cpuUsed / orders);
    accounted += cpuUsed;
  }
  rows.set("bench (load)", ownCpuMs / orders);
  rows.set("rest", Math.max(0, used.machineBusyMs - accounted) / orders);
  return [...rows];
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

const mean = (vs: number[]) => (vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : Number.NaN);
