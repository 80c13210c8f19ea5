// The notifications benchmark. (a) Worker throughput: N jobs added in bulk under a private BullMQ prefix, then
// the real worker (createNotificationsWorker, the real processor path) drains them with no-op channels: the
// favorites lookup answers in-process and the inbox write does nothing; once more with the inbox on Postgres.
// (b) Stock change to inbox latency: the real users, inventory, favorites and notifications apps on fresh
// databases (users with a signing key made for the run; the worker asks it for its service token), K users
// favoriting the product(s) with their own tokens, stock set 0 -> n with an admin token at a fixed event rate;
// latency is from the PUT's response to the inbox row's created_at, read from the notifications database.
// Standalone: `bun bench/notifications.ts`; the suite's runner calls runNotificationsBench().
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { CartClient } from "../apps/notifications/src/clients/cart.ts";
import type { FavoritesClient } from "../apps/notifications/src/clients/favorites.ts";
import { createNotificationsWorker, type NotificationsWorkerOptions } from "../apps/notifications/src/worker.ts";
import { APPS, appEnv, type AppName, type Ports } from "../scripts/apps.ts";
import { authEnv, freshAuthSecrets, type AuthSecrets } from "../scripts/auth.ts";
import { redisAnswers } from "../scripts/redis.ts";
import { waitUntilReady } from "../scripts/wait-ready.ts";
import { connectDatabase } from "../shared/src/db/connect.ts";
import { migrate } from "../shared/src/db/migrate.ts";
import { DEFAULT_REDIS_URL, EVENT_JOB_OPTIONS, workerRedisOptions, type EventJobData } from "../shared/src/notifications/events.ts";
import { createLogger } from "../shared/src/observability/logger.ts";
import { createEventQueues } from "../shared/src/outbox/event-queues.ts";
import { deletePrefix, uniquePrefix } from "../shared/src/testing/test-redis.ts";
import { freePorts } from "../tests/support/free-ports.ts";
import { startProcess, type TestProcess } from "../tests/support/processes.ts";
import { cleanEnv } from "../tests/support/stack.ts";
import { bearer, createTokenMint } from "./tokens.ts";

type Sql = NotificationsWorkerOptions["sql"];
type Connection = NotificationsWorkerOptions["connection"] & { disconnect(): void };

// ioredis as the notifications app resolves it (the repository root has no ioredis of its own), so the worker
// gets the same kind of connection index.ts gives it: one ioredis client with workerRedisOptions.
const { Redis } = createRequire(new URL("../apps/notifications/src/index.ts", import.meta.url))("ioredis") as {
  Redis: new (...args: ReturnType<typeof workerRedisOptions>) => Connection;
};

export type NotificationsBenchOptions = {
  redisUrl?: string;
  /** A Postgres server on which fresh databases are created and dropped. */
  adminUrl?: string;
  /** (a) jobs added before the worker starts. */
  jobs?: number;
  /** The worker's concurrency (the app's default: 20). */
  concurrency?: number;
  /** (a) also run the jobs with the inbox on Postgres (one row per job). */
  withInbox?: boolean;
  /** (b) users who favorited the product: inbox rows per event. */
  users?: number;
  /** (b) stock events per second (each is a PUT to 0 then a PUT to n). */
  rate?: number;
  /**
   * (b) products the events take turns on (default 4). One product's PUTs must run one after another (0 -> n
   * overlapping the next 0 would be n -> n', no event), and a pair takes about 5 ms here, so a single product
   * tops out just under 200 events/s on this machine.
   */
  products?: number;
  /** (b) measured seconds, after warmupEvents events that are not counted. */
  seconds?: number;
  warmupEvents?: number;
  log?: (msg: string) => void;
};

export type Throughput = { what: string; jobs: number; concurrency: number; seconds: number; jobsPerSecond: number; failed: number };

export type Latency = {
  users: number;
  products: number;
  targetRate: number;
  achievedRate: number;
  events: number;
  /** Events whose inbox rows all arrived (users rows each). */
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  putP50Ms: number;
  putP99Ms: number;
  putErrors: number;
};

export type NotificationsBenchResult = {
  throughput: Throughput[];
  latency: Latency;
  /** 1-minute load average when the run began: other work on the machine skews every number here. */
  loadAtStart: number;
  markdown: string;
};

export const TARGET_JOBS_PER_SECOND = 2000;
export const TARGET_P99_MS = 100;
// users first: started before the others, which check tokens against its keys.
const DATABASES = ["users", "inventory", "favorites", "notifications"] as const satisfies readonly AppName[];

/** Nearest-rank percentile (p in 0..100). */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with Postgres's now() on this machine. */
const wallMs = () => performance.timeOrigin + performance.now();


/** What the inbox channel does with no database behind it: every statement succeeds and writes nothing. */
const noopSql = Object.assign(async () => [], { json: (value: unknown) => value }) as unknown as Sql;

// One recipient per job, answered in-process: the favorites service is not what (a) measures.
const oneFavoriter = { favoritedBy: async () => [1] } as unknown as FavoritesClient;
const noCart = { cartLines: async () => 0 } as unknown as CartClient;

const backInStockJob = (i: number) => {
  const data: EventJobData = {
    type: "stock.back_in_stock",
    payload: { product_id: 1 + (i % 12), inventory: 5 },
    event_id: randomUUID(),
    occurred_at: new Date().toISOString(),
  };
  return { name: data.type, data, opts: { ...EVENT_JOB_OPTIONS, jobId: data.event_id } };
};

/** (a) N jobs in the queue first, then the real worker drains them; timed from its creation to the last completion. */
async function measureThroughput(o: { redisUrl: string; jobs: number; concurrency: number; sql: Sql; what: string }): Promise<Throughput> {
  const prefix = uniquePrefix("bench-notifications");
  const producer = createEventQueues({ redisUrl: o.redisUrl, prefix });
  const connection = new Redis(...workerRedisOptions(o.redisUrl));
  let worker: ReturnType<typeof createNotificationsWorker> | undefined;
  try {
    await producer.queues.notifications!.waitUntilReady();
    for (let i = 0; i < o.jobs; i += 1000) {
      await producer.queues.notifications!.addBulk(Array.from({ length: Math.min(1000, o.jobs - i) }, (_, j) => backInStockJob(i + j)));
    }
    let completed = 0;
    let failed = 0;
    let finish!: () => void;
    const allDone = new Promise<void>((resolve) => (finish = resolve));
    const started = performance.now();
    worker = createNotificationsWorker({
      connection,
      prefix,
      concurrency: o.concurrency,
      sql: o.sql,
      favorites: oneFavoriter,
      cart: noCart,
      reminderDelayMs: 24 * 3600_000,
      logger: createLogger("notifications", "silent"),
    });
    worker.worker.on("completed", () => void (++completed + failed === o.jobs && finish()));
    worker.worker.on("failed", () => void (completed + ++failed === o.jobs && finish()));
    const timedOut = Bun.sleep(300_000).then(() => "timeout" as const);
    if ((await Promise.race([allDone, timedOut])) === "timeout") throw new Error(`(a) ${completed + failed} of ${o.jobs} jobs done after 300 s`);
    const seconds = (performance.now() - started) / 1000;
    return { what: o.what, jobs: o.jobs, concurrency: o.concurrency, seconds, jobsPerSecond: o.jobs / seconds, failed };
  } finally {
    await worker?.close({ graceMs: 5000 });
    connection.disconnect();
    await producer.close();
    await deletePrefix(o.redisUrl, prefix);
  }
}

type Databases = { urls: Record<(typeof DATABASES)[number], string>; drop(): Promise<void> };

/** Fresh bench_notif_<app> databases (any left by an interrupted run are dropped first). */
async function createDatabases(adminUrl: string): Promise<Databases> {
  const admin = await connectDatabase({ url: adminUrl, dataDir: "", max: 1 });
  const names = DATABASES.map((app) => `bench_notif_${app}`);
  const drop = async () => {
    for (const name of names) await admin.sql`drop database if exists ${admin.sql(name)} with (force)`;
  };
  try {
    await drop();
    for (const name of names) await admin.sql`create database ${admin.sql(name)}`;
  } catch (err) {
    await admin.close();
    throw err;
  }
  const urls = Object.fromEntries(
    DATABASES.map((app, i) => {
      const url = new URL(adminUrl);
      url.pathname = `/${names[i]}`;
      return [app, url.toString()];
    }),
  ) as Databases["urls"];
  return { urls, drop: () => drop().finally(() => admin.close()) };
}

/**
 * The four apps as `bun apps/<name>/src/index.ts`, on free ports, ready: users first (the others fetch its keys,
 * the worker its service token), then the rest together. Cart is not started: no cart events here.
 */
async function startApps(o: { redisUrl: string; prefix: string; concurrency: number; databaseUrls: Databases["urls"]; secrets: AuthSecrets }) {
  const free = freePorts(APPS.length);
  const ports = Object.fromEntries(APPS.map((a, i) => [a.name, free[i]!])) as Ports;
  const procs: TestProcess[] = [];
  const start = (name: (typeof DATABASES)[number]) => {
    const env = {
      ...cleanEnv(),
      ...appEnv(name, ports),
      ...authEnv(name, o.secrets),
      [`${name.toUpperCase()}_DATABASE_URL`]: o.databaseUrls[name],
      REDIS_URL: o.redisUrl,
      QUEUE_PREFIX: o.prefix,
      WORKER_CONCURRENCY: String(o.concurrency),
      // One JSON line per request at 400 PUTs/s is the apps' logging, not the pipeline under test.
      LOG_LEVEL: "warn",
    };
    const p = startProcess(name, [`apps/${name}/src/index.ts`], env);
    procs.push(p);
    return Promise.race([
      waitUntilReady(`http://127.0.0.1:${ports[name]}/ready`, { timeoutMs: 30_000 }),
      p.proc.exited.then((code) => Promise.reject(new Error(`${p.name} exited (${code}) during start-up:\n${p.output.slice(-20).join("\n")}`))),
    ]);
  };
  try {
    await start("users");
    await Promise.all(DATABASES.filter((name) => name !== "users").map(start));
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
  return { ports, stop: () => Promise.all(procs.map((p) => p.stop())) };
}

async function request(url: string, method: string, token: string, body: unknown): Promise<number> {
  const res = await fetch(url, { method, headers: { "content-type": "application/json", ...bearer(token) }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** (b) Events at a fixed rate on one product; each event's inbox rows are found by their inventory value. */
async function measureLatency(o: {
  redisUrl: string;
  adminUrl: string;
  concurrency: number;
  users: number;
  products: number;
  rate: number;
  seconds: number;
  warmupEvents: number;
  log: (msg: string) => void;
}): Promise<Latency> {
  const prefix = uniquePrefix("bench-notifications");
  const databases = await createDatabases(o.adminUrl);
  let apps: Awaited<ReturnType<typeof startApps>> | undefined;
  const inbox = await connectDatabase({ url: databases.urls.notifications, dataDir: "", max: 2 });
  try {
    const secrets = await freshAuthSecrets();
    const tokens = await createTokenMint(secrets.privatePem);
    apps = await startApps({ redisUrl: o.redisUrl, prefix, concurrency: o.concurrency, databaseUrls: databases.urls, secrets });
    const admin = await tokens.admin();
    const userTokens = await tokens.users(o.users);
    const inventory = `http://127.0.0.1:${apps.ports.inventory}`;
    const favorites = `http://127.0.0.1:${apps.ports.favorites}`;

    for (let product = 1; product <= o.products; product++) {
      for (let user = 1; user <= o.users; user++) {
        const status = await request(`${favorites}/users/${user}/favorites`, "POST", userTokens[user - 1]!, { product_id: product });
        if (status >= 300) throw new Error(`favoriting product ${product} as user ${user}: status ${status}`);
      }
    }

    // Event n sets a product's stock from 0 to n: the inbox payload's inventory says which event a row is for.
    const total = o.warmupEvents + Math.round(o.rate * o.seconds);
    const respondedAt = new Map<number, number>();
    const putMs: number[] = [];
    let putErrors = 0;
    const put = async (product: number, inventoryValue: number) => {
      const sent = performance.now();
      const status = await request(`${inventory}/products/${product}/inventory`, "PUT", admin, { inventory: inventoryValue });
      if (status !== 200) putErrors++;
      putMs.push(performance.now() - sent);
    };
    o.log(`(b) ${o.users} favoriters on ${o.products} product(s); ${o.warmupEvents} warm-up events, then ${total - o.warmupEvents} at ${o.rate}/s`);
    const interval = 1000 / o.rate;
    let measuredFrom = 0;
    let lastDone = 0;
    const start = performance.now();
    // One chain per product, its events in order; event n is due at start + (n - 1) * interval, and a chain that
    // fell behind its schedule catches up rather than shifting every later event.
    const chain = async (product: number) => {
      for (let n = product; n <= total; n += o.products) {
        const wait = start + (n - 1) * interval - performance.now();
        if (wait > 1) await Bun.sleep(wait);
        if (n === o.warmupEvents + 1) measuredFrom = performance.now();
        await put(product, 0);
        await put(product, n);
        respondedAt.set(n, wallMs());
      }
      lastDone = Math.max(lastDone, performance.now());
    };
    await Promise.all(Array.from({ length: o.products }, (_, i) => chain(i + 1)));
    const measuredSeconds = (lastDone - (measuredFrom || start)) / 1000;

    const complete = async () => {
      const [row] = await inbox.sql<{ n: number }[]>`select count(distinct event_id)::int as n from inbox where channel = 'inbox'`;
      return row!.n;
    };
    const waitUntil = Date.now() + 30_000;
    while ((await complete()) < total && Date.now() < waitUntil) await Bun.sleep(100);

    const rows = await inbox.sql<{ n: number; at_ms: number; recipients: number }[]>`
      select (payload->>'inventory')::int as n, (extract(epoch from min(created_at)) * 1000)::float8 as at_ms, count(*)::int as recipients
      from inbox where channel = 'inbox' and type = 'stock.back_in_stock'
      group by 1`;
    const latencies: number[] = [];
    let delivered = 0;
    for (const row of rows) {
      if (row.n <= o.warmupEvents || !respondedAt.has(row.n)) continue;
      latencies.push(row.at_ms - respondedAt.get(row.n)!);
      if (row.recipients === o.users) delivered++;
    }
    const events = total - o.warmupEvents;
    return {
      users: o.users,
      products: o.products,
      targetRate: o.rate,
      achievedRate: events / measuredSeconds,
      events,
      delivered,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      putP50Ms: percentile(putMs, 50),
      putP99Ms: percentile(putMs, 99),
      putErrors,
    };
  } finally {
    await apps?.stop();
    await inbox.close();
    await databases.drop();
    await deletePrefix(o.redisUrl, prefix);
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

export function renderMarkdown(throughput: Throughput[], latency: Latency, loadAtStart: number): string {
  const lines = [
    "| measurement | result | target | met |",
    "|---|---|---|---|",
    ...throughput.map(
      (t, i) =>
        `| ${t.what}: ${t.jobs} jobs, concurrency ${t.concurrency} | ${fmt(t.jobsPerSecond, 0)} jobs/s (${fmt(t.seconds, 2)} s${t.failed ? `, ${t.failed} failed` : ""}) | ${i === 0 ? `>= ${TARGET_JOBS_PER_SECOND} jobs/s` : "(for reference)"} | ${i === 0 ? (t.jobsPerSecond >= TARGET_JOBS_PER_SECOND && !t.failed ? "yes" : "no") : ""} |`,
    ),
    `| stock change -> inbox, p50 (${latency.users} favoriters each of ${latency.products} product(s), ${fmt(latency.achievedRate, 0)} of ${latency.targetRate} events/s) | ${fmt(latency.p50Ms)} ms | | |`,
    `| stock change -> inbox, p99 | ${fmt(latency.p99Ms)} ms (max ${fmt(latency.maxMs)}) | < ${TARGET_P99_MS} ms | ${latency.p99Ms < TARGET_P99_MS && latency.delivered === latency.events ? "yes" : "no"} |`,
    `| events delivered to every favoriter | ${latency.delivered} of ${latency.events} | all | ${latency.delivered === latency.events ? "yes" : "no"} |`,
    `| PUT /products/:id/inventory, p50 / p99 | ${fmt(latency.putP50Ms, 2)} / ${fmt(latency.putP99Ms, 2)} ms${latency.putErrors ? `, ${latency.putErrors} errors` : ""} | | |`,
    "",
    `${cpus().length} cores, load average ${fmt(loadAtStart, 2)} at the start. (a) is the real worker (createNotificationsWorker, its processor, ` +
      "EVENT_JOB_OPTIONS) in this process; no-op channels: favorites answered in-process (1 recipient), inbox write a no-op, no webhook. " +
      "(b) is timed from the PUT's response to the inbox rows' created_at (the insert's start, so it leaves out the commit); the PUTs go to " +
      "the inventory service with an admin token, the worker asks favorites with its service token (from the users service, started too).",
  ];
  return lines.join("\n");
}

export async function runNotificationsBench(options: NotificationsBenchOptions = {}): Promise<NotificationsBenchResult> {
  const redisUrl = options.redisUrl ?? (process.env.REDIS_URL || DEFAULT_REDIS_URL);
  const adminUrl = options.adminUrl ?? (process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres");
  const concurrency = options.concurrency ?? 20;
  const jobs = options.jobs ?? 20_000;
  const log = options.log ?? ((msg: string) => console.log(`[notifications bench] ${msg}`));
  const loadAtStart = loadavg()[0]!;
  if (!(await redisAnswers(redisUrl))) throw new Error(`no Redis answers at ${redisUrl} (set REDIS_URL)`);

  log(`(a) ${jobs} jobs, no-op channels`);
  const throughput = [await measureThroughput({ redisUrl, jobs, concurrency, sql: noopSql, what: "(a) worker, no-op channels" })];
  if (options.withInbox ?? true) {
    log(`(a) ${jobs} jobs, inbox on Postgres`);
    const databases = await createDatabases(adminUrl);
    const db = await connectDatabase({ url: databases.urls.notifications, dataDir: "", max: 10 });
    try {
      await migrate(db.sql, fileURLToPath(new URL("../apps/notifications/src/db/migrations", import.meta.url)));
      throughput.push(await measureThroughput({ redisUrl, jobs, concurrency, sql: db.sql, what: "(a') worker, inbox rows on Postgres" }));
    } finally {
      await db.close();
      await databases.drop();
    }
  }
  const latency = await measureLatency({
    redisUrl,
    adminUrl,
    concurrency,
    users: options.users ?? 100,
    products: options.products ?? 4,
    rate: options.rate ?? 200,
    seconds: options.seconds ?? 10,
    warmupEvents: options.warmupEvents ?? 200,
    log,
  });
  return { throughput, latency, loadAtStart, markdown: renderMarkdown(throughput, latency, loadAtStart) };
}

if (import.meta.main) {
  const result = await runNotificationsBench();
  console.log(`\n${result.markdown}\n`);
  process.exit(0);
}
