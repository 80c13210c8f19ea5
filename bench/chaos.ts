// `bun run chaos`: the whole stack under a steady open-loop load and a trickle of checkouts while its parts are
// killed and restarted.
//   bun run chaos                    # 60 s of load; about 70 s in all (up to 2 min more if a kill strands an order or a job)
//   CHAOS_SECONDS=20 bun run chaos   # shorter (kills that no longer fit are skipped and reported)
// Fresh chaos_* databases on CHAOS_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres),
// a private redis-server with AOF, the ten apps as processes (users first, with a signing key made for the run
// and the orders saga's client secret; the load's tokens are signed here with the same key); listings (40/s) and
// cart writes (5/s) on the BFF with users 1-5's tokens, an admin's stock and price changes (2/s) on products 1-10
// through the BFF's /admin routes, and about one checkout a second from customers 101-105 (one item of product 11
// or 12 in the cart, POST /checkout with a fresh Idempotency-Key and tok_visa, asked again with the same key after
// a 5xx, a timeout or 409 IDEMPOTENCY_IN_PROGRESS; 202s followed to their end; every 4th confirmed order cancelled
// by its customer), while users, products, inventory, favorites, cart, notifications, redis-server, payments,
// orders and delivery are SIGKILLed in turn and restarted 2 s later. The BFF is never killed: if it exits on its
// own, that is recorded and it is restarted. After the load it waits for every order to end and every event to be
// handled, then reads the orders, payments, inventory and delivery databases.
// Reported: BFF restarts (must be 0), answers by status, time from each kill to the next full listing and the
// next confirmed checkout, outbox events written vs published and their jobs expected vs found in Redis (must be
// equal), and the checkout ledger: every order ended, at most one charge per order, a cancelled order's charge
// refunded, the stock of products 11 and 12 adding up, reservations committed for exactly the confirmed orders,
// a delivery for each confirmed order (any violation, or a checkout never answered, fails the run). Exit 1 if
// any check fails. Figures go to bench/RESULTS.md between <!-- chaos:start --> and <!-- chaos:end -->.
// CHAOS_KEEP_LOGS=1 keeps logs.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createDatabases, DATABASE_SERVICES, DEFAULT_ADMIN_URL, dropDatabases, psql, type DatabaseService } from "./databases.ts";
import { withChaosSection } from "./report.ts";
import { authEnv, freshAuthSecrets } from "../scripts/auth.ts";
import { benchLogDir, freePort, UNREACHABLE_RATE_LIMITS } from "./stack.ts";
import { bearer, createTokenMint } from "./tokens.ts";
import { readLedger, stockOf, waitForOrders } from "./chaos/checkout-ledger.ts";
import { runCheckouts } from "./chaos/checkouts.ts";
import { runKills, type KillTarget } from "./chaos/kills.ts";
import { runLoad } from "./chaos/load.ts";
import { EMITTERS, waitForEvents } from "./chaos/outbox.ts";
import { startChaosRedis, type ChaosRedis } from "./chaos/redis.ts";
import { summarize } from "./chaos/summary.ts";
import { createSupervisor } from "./chaos/supervisor.ts";

const RESULTS = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
const adminUrl = process.env.CHAOS_DATABASE_URL || DEFAULT_ADMIN_URL;
const seconds = Number(process.env.CHAOS_SECONDS || 60);
const keepLogs = process.env.CHAOS_KEEP_LOGS === "1";
const LOAD = { listingsPerSecond: 40, writesPerSecond: 5, changesPerSecond: 2, timeoutMs: 5000, users: 5, products: 12, catalogueProducts: 10 };
// Products 11 and 12 are left to the checkouts (the admin's changes would set their stock): 11 never runs out,
// 12 does, so some orders take the out-of-stock path (release, cancel) too. Customers 101-105 have no seeded cart.
const CHECKOUT = { perSecond: 1, firstCustomer: 101, customers: 5, stock: new Map([[11, 1000], [12, 12]]), timeoutMs: 8000, graceMs: 30_000, cancelEvery: 4 };
const DOWN_MS = 2000;
// A saga whose runner was killed is resumed once its lease (SAGA_LEASE_MS, 15 s) runs out; a charge whose
// payments process was killed once its lease (30 s) does.
const ORDERS_WAIT_MS = 60_000;
// Delivery's worker keeps BullMQ's 30 s lock (it reads no WORKER_LOCK_MS): a job it had when killed runs again
// after up to a minute.
const EVENTS_WAIT_MS = 75_000;
// Short enough that recovery shows within the run: an open breaker tries again after 1 s, a job whose worker
// was killed runs again after 5 s. Deadlines stay at their defaults.
const BFF_SETTINGS = { BREAKER_OPEN_MS: "1000" };
const WORKER_SETTINGS = { WORKER_LOCK_MS: "5000" };
const DB_PREFIX = "chaos"; // never bench_*: `bun run bench` may run beside it
const queuePrefix = `chaos-${randomUUID().slice(0, 8)}`;

const began = performance.now();
const log = (msg: string) => console.log(`[chaos ${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s] ${msg}`);
const supervisor = createSupervisor({ now: () => performance.now(), log });
let redis: ChaosRedis | null = null;
let databases = false;
let cleaning: Promise<void> | null = null;

/** Apps first (the worker still talks to Redis while it stops), then Redis, the databases and the logs. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await supervisor.stopAll();
    await redis?.stop();
    if (databases) await dropDatabases(adminUrl, DB_PREFIX, DATABASE_SERVICES);
    if (keepLogs) log(`app logs kept in ${benchLogDir()}`);
    else rmSync(benchLogDir(), { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<boolean> {
  if (!Number.isFinite(seconds) || seconds < 5) throw new Error(`CHAOS_SECONDS must be a number of seconds, at least 5 (got ${process.env.CHAOS_SECONDS})`);
  for (const bin of ["redis-server", "redis-cli", "psql"]) if (!Bun.which(bin)) throw new Error(`${bin} is not installed (apt-get install -y redis-server postgresql-client)`);
  await psql(adminUrl, "select 1").catch((err) => {
    throw new Error(`no Postgres at CHAOS_DATABASE_URL (${adminUrl}): ${(err as Error).message}`);
  });
  const commit = await treeState();

  redis = await startChaosRedis(await freePort());
  log(`private redis-server on port ${redis.port} (AOF in ${redis.dir}), queue prefix ${queuePrefix}`);
  databases = true; // set first: a half-created set is dropped too
  const dbUrls = await createDatabases(adminUrl, DB_PREFIX, DATABASE_SERVICES);
  const secrets = await freshAuthSecrets();
  const tokens = await createTokenMint(secrets.privatePem);
  // Rate limits out of reach (5 users at 9 requests/s each would come close to the default 600/60 s).
  const common = { LOG_LEVEL: "warn", REDIS_URL: redis.url, QUEUE_PREFIX: queuePrefix, ...UNREACHABLE_RATE_LIMITS };
  const service = (name: DatabaseService, extra: Record<string, string> = {}) =>
    supervisor.start(name, { ...common, [`${name.toUpperCase()}_DATABASE_URL`]: dbUrls[name], ...authEnv(name, secrets), ...extra });
  const users = await service("users");
  const withUsers = { USERS_URL: users.url };
  const [products, inventory, favorites, cart] = await Promise.all(
    (["products", "inventory", "favorites", "cart"] as const).map((name) => service(name, withUsers)),
  );
  const [notifications, payments, delivery] = await Promise.all([
    service("notifications", { ...withUsers, FAVORITES_URL: favorites!.url, CART_URL: cart!.url, ...WORKER_SETTINGS }),
    service("payments", withUsers),
    service("delivery", withUsers),
  ]);
  const orders = await service("orders", {
    ...withUsers,
    CART_URL: cart!.url,
    PRODUCTS_URL: products!.url,
    INVENTORY_URL: inventory!.url,
    PAYMENTS_URL: payments!.url,
    ...WORKER_SETTINGS,
  });
  await prepareCheckouts(dbUrls.users, dbUrls.inventory);
  const bff = await supervisor.start("bff", {
    ...common,
    ...withUsers,
    PRODUCTS_URL: products!.url,
    INVENTORY_URL: inventory!.url,
    FAVORITES_URL: favorites!.url,
    CART_URL: cart!.url,
    NOTIFICATIONS_URL: notifications!.url,
    ORDERS_URL: orders.url,
    DELIVERY_URL: delivery!.url,
    ...BFF_SETTINGS,
  });
  const userTokens = await tokens.users(LOAD.users);
  const customers = await Promise.all(
    Array.from({ length: CHECKOUT.customers }, async (_, i) => ({ id: CHECKOUT.firstCustomer + i, token: await tokens.user(CHECKOUT.firstCustomer + i) })),
  );
  await untilFullListing(bff.url, userTokens[0]!, 15_000);
  log(`the stack is up (logs in ${benchLogDir()}); ${seconds} s of load, kills spread over it`);

  const chaosRedis = redis;
  const targets: KillTarget[] = [
    ...(["users", "products", "inventory", "favorites", "cart", "notifications"] as const).map((name) => ({
      name,
      kill: () => supervisor.kill(name),
      restart: () => supervisor.restart(name),
    })),
    { name: "redis-server", kill: () => chaosRedis.kill(), restart: () => restartRedis(chaosRedis) },
    ...(["payments", "orders", "delivery"] as const).map((name) => ({
      name,
      kill: () => supervisor.kill(name),
      restart: () => supervisor.restart(name),
    })),
  ];
  const stockBefore = new Map([...(await stockOf(dbUrls.inventory, [...CHECKOUT.stock.keys()]))].map(([p, s]) => [p, s.inventory]));
  const loadStartMs = performance.now();
  const [load, checkouts, { kills, skipped }] = await Promise.all([
    runLoad({ bffUrl: bff.url, userTokens, adminToken: await tokens.admin(), seconds, ...LOAD }),
    runCheckouts({ ...CHECKOUT, bffUrl: bff.url, customers, seconds, products: [...CHECKOUT.stock.keys()] }),
    runKills({ targets, loadStartMs, seconds, downMs: DOWN_MS, gapMs: 1500, log }),
  ]);
  log(`load and checkouts done; waiting (at most ${ORDERS_WAIT_MS / 1000} s) for every order to end`);
  const ordersEnded = await waitForOrders(dbUrls.orders, ORDERS_WAIT_MS);
  log(`${ordersEnded.open.length ? `${ordersEnded.open.length} orders still open` : "every order has ended"}; waiting (at most ${EVENTS_WAIT_MS / 1000} s) for every outbox event to be published and its jobs to finish`);
  const emitterUrls = Object.fromEntries(EMITTERS.map((s) => [s, dbUrls[s]])) as Record<(typeof EMITTERS)[number], string>;
  const events = await waitForEvents(emitterUrls, redis.port, queuePrefix, EVENTS_WAIT_MS);
  const ledger = await readLedger(dbUrls, stockBefore, checkouts.checkouts);

  const { ok, text, markdown } = summarize({
    command: process.env.CHAOS_SECONDS ? `CHAOS_SECONDS=${process.env.CHAOS_SECONDS} bun run chaos` : "bun run chaos",
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit,
    cores: navigator.hardwareConcurrency,
    seconds,
    settings: [
      ["Bun", Bun.version],
      ["load", `${seconds} s open loop: GET /products/all at ${LOAD.listingsPerSecond}/s and POST /cart {product_id 1..${LOAD.products}, quantity 1} at ${LOAD.writesPerSecond}/s, in turn as users 1..${LOAD.users} (each with its own Bearer token, signed with the run's key); stock and price changes of products 1..${LOAD.catalogueProducts} at ${LOAD.changesPerSecond}/s (half emit an event) through the BFF's /admin routes with an admin token; ${LOAD.timeoutMs / 1000} s timer per request`],
      [
        "checkouts",
        `${CHECKOUT.perSecond}/s over customers ${CHECKOUT.firstCustomer}..${CHECKOUT.firstCustomer + CHECKOUT.customers - 1} (one loop each, one checkout open at a time): POST /cart one of product ${[...CHECKOUT.stock.keys()].join(" or ")} in turn, then POST /checkout with a fresh Idempotency-Key and tok_visa; 5xx, timeout (${CHECKOUT.timeoutMs / 1000} s) or 409 IDEMPOTENCY_IN_PROGRESS asked again with the same key after Retry-After, up to ${CHECKOUT.graceMs / 1000} s after the load; a 202 followed on GET /orders/:id; out-of-stock products taken out of the cart; every ${CHECKOUT.cancelEvery}th confirmed order cancelled by its customer. Stock before: ${[...CHECKOUT.stock].map(([p, n]) => `product ${p} ${n}`).join(", ")} (set in chaos_inventory)`,
      ],
      ["faults", `SIGKILL, one at a time, of ${targets.map((t) => t.name).join(", ")}; each restarted ${DOWN_MS / 1000} s later on its port; the BFF is never killed`],
      ["apps", `LOG_LEVEL=warn, ${Object.entries({ ...BFF_SETTINGS, ...WORKER_SETTINGS, ...UNREACHABLE_RATE_LIMITS }).map(([k, v]) => `${k}=${v}`).join(", ")} (the BFF's rate limits counted in the private Redis, in memory while it is down; WORKER_LOCK_MS for notifications and orders, delivery does not read it); deadlines, saga and payment leases and everything else at their defaults`],
      ["Redis", "a private redis-server, --appendonly yes --appendfsync always --save \"\" (killed and restarted on its port and directory)"],
      ["Postgres", `fresh chaos_* databases on ${new URL(adminUrl).host}`],
    ],
    loadStartMs,
    load,
    kills,
    skipped,
    unexpectedExits: supervisor.unexpectedExits,
    events: events.counts,
    eventsWaitedMs: events.waitedMs,
    checkouts,
    ordersWaitedMs: ordersEnded.waitedMs,
    ledger,
  });
  console.log(`\n${text}\n`);
  const previous = await Bun.file(RESULTS).text().catch(() => "");
  await Bun.write(RESULTS, withChaosSection(previous, markdown));
  log(`wrote the chaos section of ${RESULTS}`);
  return ok;
}

/**
 * Customers 101-105 as accounts in chaos_users (user 1's password hash: nobody signs in, the bench signs their
 * tokens), and the checkout products' stock in chaos_inventory, before the BFF starts.
 */
async function prepareCheckouts(usersUrl: string, inventoryUrl: string): Promise<void> {
  const last = CHECKOUT.firstCustomer + CHECKOUT.customers - 1;
  await psql(
    usersUrl,
    `insert into app_user (id, email, name, password_hash, role)
     select g, 'chaos-' || g || '@storefront.test', 'Chaos ' || g, (select password_hash from app_user where id = 1), 'customer'
     from generate_series(${CHECKOUT.firstCustomer}, ${last}) g;
     select setval(pg_get_serial_sequence('app_user', 'id'), (select max(id) from app_user))`,
  );
  for (const [product, units] of CHECKOUT.stock) await psql(inventoryUrl, `update stock set inventory = ${units} where product_id = ${product}`);
}

async function restartRedis(r: ChaosRedis): Promise<boolean> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await r.restart();
      return true;
    } catch (err) {
      log(`redis-server did not come back (attempt ${attempt}): ${(err as Error).message}`);
      await Bun.sleep(500);
    }
  }
  return false;
}

/** The baseline: one full listing before any load or fault. */
async function untilFullListing(bffUrl: string, token: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const res = await fetch(`${bffUrl}/products/all`, { headers: bearer(token), signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { degraded?: unknown[]; stale?: unknown };
      if (res.status === 200 && body.degraded?.length === 0 && body.stale === undefined) return;
      last = `${res.status} ${JSON.stringify(body).slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(200);
  }
  throw new Error(`no full listing within ${timeoutMs} ms of start-up (last: ${last})`);
}

/** The commit, and whether apps/ or shared/ differ from it (the apps run as they are on disk). */
async function treeState(): Promise<string> {
  const git = async (...args: string[]) => {
    const proc = Bun.spawn(["git", ...args], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdout: "pipe", stderr: "ignore" });
    return (await new Response(proc.stdout).text()).trim();
  };
  const commit = await git("rev-parse", "--short", "HEAD");
  if (!commit) return "unknown (not a git checkout)";
  const changed = (await git("status", "--porcelain", "--", "apps", "shared")).split("\n").filter(Boolean).length;
  return changed ? `${commit} + uncommitted changes in ${changed} files under apps/ and shared/` : commit;
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  console.error(`chaos: ${(err as Error).stack ?? err}`);
} finally {
  log("stopping everything, dropping the chaos databases");
  await cleanup();
}
process.exit(ok ? 0 : 1);
