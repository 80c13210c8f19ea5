// Demo knobs that make a service (inventory, payments) slow or flaky on purpose, so the BFF's deadlines and fallbacks can be seen.
// Off by default; a service's index.ts parses them from the environment, tests inject `random` and `sleep`.
// The middleware reads them from a ChaosSettings holder on every request, so a dev-only admin route (inventory's
// /admin/chaos) can turn them at run time.
import type { MiddlewareHandler } from "hono";
import { floatFromEnv } from "@storefront/shared/config";
import { errorResponse } from "@storefront/shared/errors";

export type DelayRange = { min: number; max: number };

export type ChaosOptions = {
  /** Each request waits a uniformly drawn whole number of ms in [min, max]. */
  delayMs?: DelayRange;
  /** Share (0..1) of requests answered 500 INJECTED_FAILURE. */
  failRate?: number;
  /** Returns a number in [0, 1), like Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
  /** The variable that set failRate, named in the injected failure's message. */
  failRateName?: string;
  /** Where the knobs are read from on each request; when given, delayMs and failRate above are ignored. */
  settings?: ChaosSettings;
};

export type ChaosKnobs = { delayMs: DelayRange | null; failRate: number };

/** The knobs as they are now, changed at run time; a change applies to the next request. */
export type ChaosSettings = { get(): ChaosKnobs; set(knobs: ChaosKnobs): void };

export function createChaosSettings(initial: { delayMs?: DelayRange | null; failRate?: number } = {}): ChaosSettings {
  let knobs: ChaosKnobs = { delayMs: initial.delayMs ?? null, failRate: initial.failRate ?? 0 };
  return {
    get: () => knobs,
    // A new object each time: a request that already read the knobs keeps what it read.
    set: (next) => void (knobs = { delayMs: next.delayMs ? { ...next.delayMs } : null, failRate: next.failRate }),
  };
}

// setTimeout fires at once for anything above a signed 32-bit number of ms, which would silently disable the delay.
export const MAX_DELAY_MS = 2_147_483_647;

/** "250" or "0-5000" (ms). Empty or missing means no delay. */
export function parseDelayRange(name: string, raw: string | undefined): DelayRange | undefined {
  if (raw === undefined || raw === "") return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw);
  const min = Number(match?.[1]);
  const max = Number(match?.[2] ?? match?.[1]);
  if (!match || max > MAX_DELAY_MS) {
    throw new Error(`${name} must be milliseconds as "min-max" or one number (e.g. "0-5000" or "250"), at most ${MAX_DELAY_MS}; got "${raw}"`);
  }
  if (min > max) throw new Error(`${name}: min must not exceed max, got "${raw}"`);
  return { min, max };
}

/** Both knobs from the environment; throws a message naming the variable when a value is invalid. */
export function chaosFromEnv(env: Record<string, string | undefined>, prefix = "INVENTORY"): Pick<ChaosOptions, "delayMs" | "failRate" | "failRateName"> {
  return {
    delayMs: parseDelayRange(`${prefix}_DELAY_MS`, env[`${prefix}_DELAY_MS`]),
    failRate: floatFromEnv(env, `${prefix}_FAIL_RATE`, 0, { min: 0, max: 1 }),
    failRateName: `${prefix}_FAIL_RATE`,
  };
}

/** Delays, then maybe fails, the requests it is mounted on. */
export function chaos({ delayMs: initialDelay, failRate: initialRate, settings, random = Math.random, sleep = Bun.sleep, failRateName = "INVENTORY_FAIL_RATE" }: ChaosOptions = {}): MiddlewareHandler {
  const knobs = settings ?? createChaosSettings({ delayMs: initialDelay, failRate: initialRate });
  return async (c, next) => {
    const { delayMs, failRate } = knobs.get();
    if (delayMs) {
      // + 1 and floor: every whole ms in [min, max] is equally likely, max included.
      const ms = delayMs.min + Math.floor(random() * (delayMs.max - delayMs.min + 1));
      if (ms > 0) await sleep(ms);
    }
    if (failRate > 0 && random() < failRate) {
      return errorResponse(c, 500, "INJECTED_FAILURE", `injected failure (${failRateName})`);
    }
    await next();
  };
}
