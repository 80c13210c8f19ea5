// Redis for tests. The machine's Redis (REDIS_URL, default 127.0.0.1:6379) with a key prefix of the suite's
// own, cleaned up afterwards; without a reachable Redis the suites skip with a printed reason, except under
// CI=true, where that is a failure. startPrivateRedis() runs a redis-server of the test's own, to kill.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { DEFAULT_REDIS_URL } from "../notifications/events.ts";

export const testRedisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Top-level await in a test file: `const redisUp = await requireRedis("outbox relay")`, then `describe.skipIf(!redisUp)`. */
export async function requireRedis(suite: string): Promise<boolean> {
  if (await ping(testRedisUrl)) return true;
  const reason = `no Redis answers at ${testRedisUrl}`;
  if (process.env.CI === "true") throw new Error(`CI=true: ${suite} needs Redis, but ${reason}`);
  console.warn(`skipping ${suite}: ${reason} (set REDIS_URL or start redis-server)`);
  return false;
}

/** A BullMQ prefix of the test's own. */
export const uniquePrefix = (name = "test") => `${name}-${randomUUID()}`;

/** Deletes every key under a BullMQ prefix. */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

export type PrivateRedis = { url: string; port: number; stop(): Promise<void>; start(): Promise<void> };

/** A redis-server of the test's own on a free port (never the shared one), which the test may kill and restart. */
export async function startPrivateRedis(port: number): Promise<PrivateRedis> {
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdout: "ignore",
      stderr: "ignore",
    });
    for (let i = 0; i < 100; i++) {
      if (await ping(url)) return;
      await Bun.sleep(50);
    }
    throw new Error(`private redis-server on ${port} did not start`);
  };
  const stop = async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    proc = undefined;
  };
  await start();
  return { url, port, start, stop };
}

export const redisServerInstalled = () => Bun.which("redis-server") !== null;
