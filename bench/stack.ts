// Starts and stops our apps for the benchmark: each as `bun apps/<name>/src/index.ts` on a free port with a
// clean environment, output to a log file (a pipe nobody reads would block the app), ready when /ready says so.
// Every process started here is tracked, so stopAll() (and process exit) leaves nothing running.
import type { Subprocess } from "bun";
import { authEnv, type AuthSecrets } from "../scripts/auth.ts";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchDatabase, BenchService, CheckoutService, DatabaseService } from "./databases.ts";

export type AppName = DatabaseService | CheckoutService | "bff" | "web";

export type RunningApp = {
  name: string;
  port: number;
  pid: number;
  url: string;
  logFile: string;
  /** Settles when the process has exited, with how: "exit code 1", "signal SIGKILL". */
  exited: Promise<string>;
  stop(): Promise<void>;
};

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
let logDir: string | undefined;
/** Where the apps' logs go: one temporary folder per run, made on first use. */
export const benchLogDir = () => (logDir ??= mkdtempSync(join(tmpdir(), "storefront-bench-")));
const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

// Variables our apps read; removed from the inherited environment so a developer's exports do not leak in.
const APP_VARS =
  /^(PORT|WRITE_DEADLINE_MS|QUEUE_PREFIX|REDIS_URL|SHUTDOWN_GRACE_MS|CORS_ORIGINS|TRUSTED_PROXIES|(USERS|PRODUCTS|INVENTORY|FAVORITES|CART|BFF|NOTIFICATIONS|ORDERS|PAYMENTS|PAYMENT|SAGA|CHECKOUT|BREAKER|LOG|AUTH|SERVICE|RATE_LIMIT|PASSWORD|ACCESS_TOKEN|REFRESH_TOKEN|WORKER|NOTIFY|WEB)_.*)$/;

/**
 * Rate limits far above any load the bench sends (RATE_LIMIT_* is "<requests>/<seconds>"), so no request is
 * refused; the BFF still counts every request in Redis, as in production.
 */
export const UNREACHABLE_RATE_LIMITS = { RATE_LIMIT_USER: "999999999/60", RATE_LIMIT_IP: "999999999/60" };

/** What every app of one run shares: its Redis, a BullMQ and rate-limit prefix of its own, rate limits out of reach. */
export const runEnv = (redisUrl: string, queuePrefix: string): Record<string, string> => ({
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: queuePrefix,
  ...UNREACHABLE_RATE_LIMITS,
});

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !APP_VARS.test(key)) env[key] = value;
  return env;
}

/**
 * A port nothing uses right now, below the kernel's ephemeral range (32768-60999): a port from that range can
 * still be held by one of the thousands of TIME_WAIT connections a load run leaves, and Bun.serve then fails
 * with EADDRINUSE. Checked with Bun.listen, which binds the way Bun.serve does.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    try {
      Bun.listen({ hostname: "0.0.0.0", port, socket: { data() {} } }).stop(true);
      taken.add(port);
      return port;
    } catch {}
  }
  throw new Error("no free port found between 20000 and 32000");
}
const taken = new Set<number>();

export type StartOptions = {
  /** That port rather than a free one (a restart on the port its clients know). */
  port?: number;
  /** Its own process group, so a Ctrl-C in the terminal reaches only the runner, which then stops it. */
  detached?: boolean;
  /** Another checkout of the repository to run the app from (its own apps/ and node_modules): older code. */
  root?: string;
};

export async function startApp(name: AppName, env: Record<string, string>, label: string = name, options: StartOptions = {}): Promise<RunningApp> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAppOnce(name, env, label, options.port ?? (await freePort()), options.detached ?? false, options.root ?? repoRoot);
    } catch (err) {
      // Another process may take the port between the check and the app's bind; a given port may still be
      // held for a moment by the process that had it.
      if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
      if (options.port !== undefined) await Bun.sleep(500);
    }
  }
}

async function startAppOnce(name: AppName, env: Record<string, string>, label: string, port: number, detached: boolean, root: string): Promise<RunningApp> {
  const logFile = join(benchLogDir(), `${label}.log`);
  const fd = openSync(logFile, "a");
  const proc = Bun.spawn([process.execPath, join(root, `apps/${name}/src/index.ts`)], {
    cwd: root,
    env: { ...cleanEnv(), ...env, PORT: String(port) },
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
    detached,
  });
  closeSync(fd);
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const url = `http://127.0.0.1:${port}`;
  const exited = proc.exited.then(() => (proc.signalCode ? `signal ${proc.signalCode}` : `exit code ${proc.exitCode}`));
  const app: RunningApp = { name: label, port, pid: proc.pid, url, logFile, exited, stop: () => stopProcess(proc) };
  try {
    await waitReady(`${url}/ready`, proc, 30_000);
  } catch (err) {
    await app.stop();
    throw new Error(`${label} did not start: ${(err as Error).message}\n--- ${logFile} ---\n${tail(logFile)}`);
  }
  return app;
}

async function waitReady(url: string, proc: Subprocess, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < until) {
    if (proc.exitCode !== null || proc.signalCode) throw new Error(`exited (${proc.exitCode ?? proc.signalCode})`);
    try {
      const res = await fetch(url, { headers: { connection: "close" }, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(100);
  }
  throw new Error(`not ready after ${timeoutMs} ms (last: ${last})`);
}

async function stopProcess(proc: Subprocess, graceMs = 5_000) {
  if (proc.exitCode !== null || proc.signalCode) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Stops every app this module started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((proc) => stopProcess(proc)));
}

/** The last `lines` lines of a log file. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

export type Services = Record<BenchService, RunningApp>;

/**
 * The five database services, each on its bench database with default settings and `env` (runEnv()): users
 * first, with the run's signing key (`secrets`), then the four others, which check tokens against its keys.
 */
export async function startServices(dbUrls: Record<BenchService, string>, env: Record<string, string>, secrets: AuthSecrets): Promise<Services> {
  const start = (name: BenchService, extra: Record<string, string> = {}) =>
    startApp(name, { ...env, [`${name.toUpperCase()}_DATABASE_URL`]: dbUrls[name], ...authEnv(name, secrets), ...extra });
  const users = await start("users");
  const [products, inventory, favorites, cart] = await Promise.all(
    (["products", "inventory", "favorites", "cart"] as const).map((name) => start(name, { USERS_URL: users.url })),
  );
  return { users, products: products!, inventory: inventory!, favorites: favorites!, cart: cart! };
}

/** Where an app finds each service (a service's URL, or a fault proxy's or a stub's). */
export type UpstreamUrls = Record<BenchService, string>;

/**
 * Checkout's two services on their bench databases (scenario 8): payments, then orders, which reads the cart
 * and prices and runs its saga against inventory, payments and cart with a service token of its own (its
 * client secret from `secrets`, exchanged at users).
 */
export async function startCheckoutServices(
  dbUrls: Record<CheckoutService, string>,
  env: Record<string, string>,
  secrets: AuthSecrets,
  services: Services,
): Promise<Record<CheckoutService, RunningApp>> {
  const users = { USERS_URL: services.users.url };
  const payments = await startApp("payments", { ...env, PAYMENTS_DATABASE_URL: dbUrls.payments, ...authEnv("payments", secrets), ...users });
  const orders = await startApp("orders", {
    ...env,
    ORDERS_DATABASE_URL: dbUrls.orders,
    ...authEnv("orders", secrets),
    ...users,
    CART_URL: services.cart.url,
    PRODUCTS_URL: services.products.url,
    INVENTORY_URL: services.inventory.url,
    PAYMENTS_URL: payments.url,
  });
  return { orders, payments };
}

export type CheckoutStack = { services: Services; orders: RunningApp; payments: RunningApp; bff: RunningApp };

/** The five services, orders and payments, and a BFF that knows orders (POST /checkout): scenario 8's stack. */
export async function startCheckoutStack(dbUrls: Record<BenchDatabase, string>, env: Record<string, string>, secrets: AuthSecrets): Promise<CheckoutStack> {
  const services = await startServices(dbUrls, env, secrets);
  const { orders, payments } = await startCheckoutServices(dbUrls, env, secrets, services);
  const bff = await startBff(env, { ...upstreamUrls(services), orders: orders.url });
  return { services, orders, payments, bff };
}

export const upstreamUrls = (services: Services): UpstreamUrls => ({
  users: services.users.url,
  products: services.products.url,
  inventory: services.inventory.url,
  favorites: services.favorites.url,
  cart: services.cart.url,
});

/**
 * A BFF on the given upstreams (orders only where a scenario checks out) with `env` (runEnv(): Redis for its rate limits); `settings` are its
 * deadline/breaker/stale variables and override `env`. `options.root` runs another checkout's BFF.
 */
export function startBff(
  env: Record<string, string>,
  upstreams: UpstreamUrls & { orders?: string },
  settings: Record<string, string> = {},
  label = "bff",
  options: StartOptions = {},
): Promise<RunningApp> {
  return startApp(
    "bff",
    {
      ...env,
      USERS_URL: upstreams.users,
      PRODUCTS_URL: upstreams.products,
      INVENTORY_URL: upstreams.inventory,
      FAVORITES_URL: upstreams.favorites,
      CART_URL: upstreams.cart,
      // Without it the BFF would send a checkout to the default port, where a developer's orders may listen.
      ...(upstreams.orders ? { ORDERS_URL: upstreams.orders } : {}),
      ...settings,
    },
    label,
    options,
  );
}

export type WebStack = { services: Services; notifications: RunningApp | null; bff: RunningApp; web: RunningApp };

/**
 * Scenario 9's stack: the five services, notifications (the logged-in header's unread count) when
 * `notificationsDbUrl` is given (it needs Redis), a BFF on them, and the web app on the BFF with plain
 * (not Secure) cookies, so the bench can send `sf_access` over http. `beforeBff` runs once the services have
 * migrated, before the BFF starts, so that data it writes is not hidden behind the BFF's products cache.
 * Without notifications the BFF's NOTIFICATIONS_URL is a port nothing listens on (a developer's notifications
 * on the default port must not answer the bench).
 */
export async function startWebStack(
  dbUrls: Record<BenchService, string>,
  env: Record<string, string>,
  secrets: AuthSecrets,
  options: { notificationsDbUrl: string | null; beforeBff?: (services: Services) => Promise<void> },
): Promise<WebStack> {
  const services = await startServices(dbUrls, env, secrets);
  await options.beforeBff?.(services);
  const notifications = options.notificationsDbUrl
    ? await startApp("notifications", {
        ...env,
        NOTIFICATIONS_DATABASE_URL: options.notificationsDbUrl,
        ...authEnv("notifications", secrets),
        USERS_URL: services.users.url,
        FAVORITES_URL: services.favorites.url,
        CART_URL: services.cart.url,
      })
    : null;
  const notificationsUrl = notifications?.url ?? `http://127.0.0.1:${await freePort()}`;
  const bff = await startBff(env, upstreamUrls(services), { NOTIFICATIONS_URL: notificationsUrl });
  const web = await startApp("web", { ...env, BFF_URL: bff.url, WEB_SECURE_COOKIES: "false" });
  return { services, notifications, bff, web };
}
