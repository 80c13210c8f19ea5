// The peer: the seed's aiohttp storefront in /work/shared/peers/seed-aiohttp, run from its own folder with its
// own scripts (setup-db.sh, run.sh, stop.sh), on free ports and BENCH_DATABASE_URL's server. Read-only: nothing
// of it is copied here.
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { benchLogDir, freePort } from "./stack.ts";

export const PEER_DIR = process.env.BENCH_PEER_DIR ?? "/work/shared/peers/seed-aiohttp";
const PYTHON = "/usr/bin/python3";

export type Peer = {
  /** The listing URL for user 1. */
  listingUrl: string;
  pids: number[];
  stop(): Promise<void>;
};

/** Why the peer cannot run here, or null when it can. */
export async function peerUnavailable(): Promise<string | null> {
  if (!existsSync(join(PEER_DIR, "run.sh"))) return `the peer is not at ${PEER_DIR} (set BENCH_PEER_DIR)`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install -y python3 python3-aiohttp python3-asyncpg)`;
  const probe = Bun.spawn([PYTHON, "-c", "import aiohttp, asyncpg"], { stdout: "ignore", stderr: "ignore" });
  if ((await probe.exited) !== 0) return "python3-aiohttp / python3-asyncpg are missing (apt-get install -y python3-aiohttp python3-asyncpg)";
  return null;
}

async function run(script: string, env: Record<string, string>, logFile: string) {
  // A log file, not a pipe: run.sh's background servers inherit its stdout and keep a pipe open for ever.
  const fd = openSync(logFile, "a");
  const proc = Bun.spawn(["bash", join(PEER_DIR, script)], { cwd: PEER_DIR, env: { ...process.env, ...env }, stdout: fd, stderr: fd });
  closeSync(fd);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`peer ${script} exited ${code}:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
}

/** Four consecutive free ports (the peer's services sit on base..base+3). */
async function freeRun(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all([0, 1, 2, 3].map((i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no four consecutive free ports for the peer");
}

async function isFree(port: number): Promise<boolean> {
  try {
    const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    server.stop(true);
    return true;
  } catch {
    return false;
  }
}

export async function startPeer(adminUrl: string): Promise<Peer> {
  const url = new URL(adminUrl);
  const user = decodeURIComponent(url.username || "postgres");
  const password = decodeURIComponent(url.password);
  const host = url.hostname || "127.0.0.1";
  const pgPort = url.port || "5432";
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  const base = await freeRun();
  const bffPort = await freePort();
  const pidFile = join(benchLogDir(), "peer.pids");
  const env: Record<string, string> = {
    PSQL: `psql -h ${host} -p ${pgPort} -U ${user}`,
    PGDSN: `postgresql://${auth}@${host}:${pgPort}`,
    PEER_BASE_PORT: String(base),
    PEER_BFF_PORT: String(bffPort),
    PIDFILE: pidFile,
    INV_DELAY_MAX: "0",
  };
  if (password) env.PGPASSWORD = password;
  const logFile = join(benchLogDir(), "peer.log");
  await run("setup-db.sh", env, logFile);
  let pids: number[] = [];
  const stop = async () => {
    if (existsSync(pidFile)) pids = readPids(pidFile);
    await run("stop.sh", env, logFile).catch(() => {});
    // stop.sh sends SIGTERM; make sure nothing is left behind.
    await Bun.sleep(300);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  };
  try {
    await run("run.sh", env, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  pids = readPids(pidFile);
  const listingUrl = `http://127.0.0.1:${bffPort}/products/all?user_id=1`;
  try {
    await waitComplete(listingUrl);
  } catch (err) {
    await stop();
    throw err;
  }
  return { listingUrl, pids, stop };
}

type PeerListing = { cart_items: number | null; favorite_items: number | null; products: { inventory: number | null }[] };

/** run.sh returns once the peer's BFF answers; its services may still be connecting to Postgres. */
async function waitComplete(url: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      last = await res.text();
      const body = JSON.parse(last) as PeerListing;
      if (res.ok && body.cart_items !== null && body.favorite_items !== null && body.products.length > 0 && body.products.every((p) => p.inventory !== null)) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(200);
  }
  throw new Error(`the peer's listing is still incomplete after ${timeoutMs} ms: ${last.slice(0, 300)}`);
}

const readPids = (file: string) =>
  readFileSync(file, "utf8")
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
