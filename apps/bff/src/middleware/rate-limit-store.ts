// The counters behind the rate limits: in Redis, so every BFF replica counts against one quota, with the
// replica's own memory as rate-limiter-flexible's insuranceLimiter. A Redis outage therefore loosens the
// limits to one quota per replica for its duration; it never refuses or holds up a request.
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Logger } from "@storefront/shared/observability/logger";
import { batchedCounter } from "./batched-counter.ts";

export type Quota = { points: number; windowS: number };
/** One hit on a counter. `resetMs`: until the window ends and the count starts again. */
export type Hit = { allowed: boolean; remaining: number; resetMs: number };
export type Counter = {
  /** Counts `points` (default 1) against the key. */
  hit(key: string, points?: number): Promise<Hit>;
  /** Forgets the key's count (a successful login clears its email's failures). */
  reset(key: string): Promise<void>;
};

/** A command waits at most this for a Redis that accepts connections but does not answer. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;

/**
 * The Redis client the rate limits need: every command fails at once while Redis is unreachable, so the
 * memory insurance answers instead (what rate-limiter-flexible's docs ask for: `enableOfflineQueue: false`).
 * Reconnects in the background with ioredis's default back-off (at most 2 s apart).
 */
export const createRateLimitRedis = (url: string, options: { commandTimeoutMs?: number } = {}) =>
  new Redis(url, {
    enableOfflineQueue: false,
    // A hit in flight when the connection drops fails (and goes to memory) instead of being resent after the
    // reconnect, where it would count twice.
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: 1000,
    connectionName: "bff-rate-limit",
  });

/** Waits until `redis` is connected, at most `timeoutMs`; false if it was not. For index.ts before it listens. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return true;
  let onReady = () => {};
  const ready = new Promise<boolean>((resolve) => {
    onReady = () => resolve(true);
    redis.once("ready", onReady);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([ready, late]);
  } finally {
    clearTimeout(timer);
    redis.off("ready", onReady);
  }
}

export type CounterStore = {
  /** `batched`: far from its limit a key's hits reach Redis together (batched-counter.ts), for the general limits. */
  counter(name: string, quota: Quota, options?: { batched?: boolean }): Counter;
  /** Quits the Redis connection (or drops it when Redis is unreachable). */
  close(): Promise<void>;
};

/**
 * Counters under `prefix` in `redis`, or in memory only when `redis` is null. Logs one warning when a counter
 * first falls back to memory and one line when Redis answers again.
 */
export function createCounterStore(options: { redis: Redis | null; prefix: string; logger: Logger }): CounterStore {
  const { redis, prefix, logger } = options;
  if (redis && redis.options.enableOfflineQueue !== false) {
    // With the offline queue on, a hit during an outage waits for the reconnect instead of going to memory.
    throw new Error("rate limits need a Redis client with enableOfflineQueue: false; build it with createRateLimitRedis()");
  }
  let lastError: string | null = null;
  // Listened to, so a failed reconnect is not an unhandled 'error' event (ioredis would print each one).
  redis?.on("error", (err: Error) => {
    lastError = err.message;
  });

  // How many hits memory has answered; a hit during which this did not move was answered by Redis.
  let insuranceUses = 0;
  let degraded = false;
  const usedInsurance = () => {
    insuranceUses++;
    if (degraded) return;
    degraded = true;
    logger.warn("rate limits: Redis unavailable, counting in this replica's memory until it is back", {
      redis_status: redis?.status ?? null,
      error: lastError,
    });
  };
  const redisAnswered = () => {
    if (!degraded) return;
    degraded = false;
    logger.info("rate limits: Redis is back, counting there again");
  };

  class Insurance extends RateLimiterMemory {
    override consume(...args: Parameters<RateLimiterMemory["consume"]>) {
      usedInsurance();
      return super.consume(...args);
    }
    override delete(...args: Parameters<RateLimiterMemory["delete"]>) {
      usedInsurance();
      return super.delete(...args);
    }
  }

  const limiterFor = (name: string, { points, windowS }: Quota): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}:${name}`,
          points,
          duration: windowS,
          // Straight to memory while not connected, without asking ioredis first.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new Insurance({ keyPrefix: `${prefix}:${name}`, points, duration: windowS }),
        })
      : new RateLimiterMemory({ keyPrefix: `${prefix}:${name}`, points, duration: windowS });

  const batches: { flushAll(): Promise<void> }[] = [];

  return {
    counter(name, quota, options = {}) {
      const limiter = limiterFor(name, quota);
      // Each call is tracked on its own, so Redis can only be declared back by a hit that Redis answered.
      const track = async <T>(op: () => Promise<T>): Promise<T> => {
        const before = insuranceUses;
        const result = await op();
        if (redis && insuranceUses === before) redisAnswered();
        return result;
      };
      const counter: Counter = {
        hit: (key, points = 1) =>
          track(async () => {
            let res: RateLimiterRes;
            let allowed = true;
            try {
              res = await limiter.consume(key, points);
            } catch (err) {
              // Refusals come as a rejected RateLimiterRes; anything else is a bug, not an outage.
              if (!(err instanceof RateLimiterRes)) throw err;
              res = err;
              allowed = false;
            }
            return { allowed, remaining: res.remainingPoints, resetMs: Math.max(0, res.msBeforeNext) };
          }),
        reset: (key) =>
          track(async () => {
            await limiter.delete(key);
          }),
      };
      // In memory only there is no round trip to spare.
      if (!redis || !options.batched) return counter;
      const batched = batchedCounter(counter, quota, {
        onFlushError: (err) => logger.warn("rate limits: a batch of hits could not be counted", { policy: name, error: String(err) }),
      });
      batches.push(batched);
      return batched;
    },
    async close() {
      // What was admitted but not yet counted reaches Redis before the connection goes.
      await Promise.allSettled(batches.map((b) => b.flushAll()));
      if (!redis || redis.status === "end") return;
      if (redis.status === "ready") {
        // QUIT is answered before the socket closes: wait for the close too, at most a second, then drop it.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const ended = new Promise<boolean>((resolve) => {
          redis.once("end", () => resolve(true));
          timer = setTimeout(() => resolve(false), 1000);
        });
        try {
          await redis.quit();
          if (await ended) return;
        } catch {
          // Lost between the check and the QUIT: drop it below.
        } finally {
          clearTimeout(timer);
        }
      }
      // Not connected: stop reconnecting. (ioredis then leaves status at "reconnecting", with no socket or timer left.)
      redis.disconnect();
    },
  };
}
