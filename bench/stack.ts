// Starts and stops our apps for the benchmark: each as `bun apps/<name>/src/index.ts` on a free port with a
// clean environment, output to a log file (a pipe nobody reads would block the app), ready when /ready says so.
// Every process started here is tracked, so stopAll() (and process exit) leaves nothing running.
import type { Subprocess } from "bun";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchService, DatabaseService } from "./databases.ts";

export type AppName = DatabaseService | "bff";

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
const APP_VARS = /^(PORT|WRITE_DEADLINE_MS|(PRODUCTS|INVENTORY|FAVORITES|CART|BFF|NOTIFICATIONS|BREAKER|LOG)_.*)$/;

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
};

export async function startApp(name: AppName, env: Record<string, string>, label: string = name, options: StartOptions = {}): Promise<RunningApp> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAppOnce(name, env, label, options.port ?? (await freePort()), options.detached ?? false);
    } catch (err) {
      // Another process may take the port between the check and the app's bind; a given port may still be
      // held for a moment by the process that had it.
      if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
      if (options.port !== undefined) await Bun.sleep(500);
    }
  }
}

async function startAppOnce(name: AppName, env: Record<string, string>, label: string, port: number, detached: boolean): Promise<RunningApp> {
  const logFile = join(benchLogDir(), `${label}.log`);
  const fd = openSync(logFile, "a");
  const proc = Bun.spawn([process.execPath, `apps/${name}/src/index.ts`], {
    cwd: repoRoot,
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

/** The four database services, each on its bench database, with default settings. */
export async function startServices(dbUrls: Record<BenchService, string>): Promise<Services> {
  const start = (name: BenchService) => startApp(name, { [`${name.toUpperCase()}_DATABASE_URL`]: dbUrls[name] });
  const [products, inventory, favorites, cart] = await Promise.all([start("products"), start("inventory"), start("favorites"), start("cart")]);
  return { products: products!, inventory: inventory!, favorites: favorites!, cart: cart! };
}

/** Where the BFF finds each upstream (a service's URL, or a fault proxy's). */
export type UpstreamUrls = Record<BenchService, string>;

export const upstreamUrls = (services: Services): UpstreamUrls => ({
  products: services.products.url,
  inventory: services.inventory.url,
  favorites: services.favorites.url,
  cart: services.cart.url,
});

/** A BFF on the given upstreams; `settings` are its deadline/breaker/stale variables. */
export function startBff(upstreams: UpstreamUrls, settings: Record<string, string> = {}, label = "bff"): Promise<RunningApp> {
  return startApp(
    "bff",
    {
      PRODUCTS_URL: upstreams.products,
      INVENTORY_URL: upstreams.inventory,
      FAVORITES_URL: upstreams.favorites,
      CART_URL: upstreams.cart,
      ...settings,
    },
    label,
  );
}

