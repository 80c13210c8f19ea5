import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { chaos, chaosFromEnv, createChaosSettings, parseDelayRange, type ChaosOptions } from "./chaos.ts";

/** Hands out the given numbers in turn, as `random` would. */
const draws = (...values: number[]) => () => {
  const next = values.shift();
  if (next === undefined) throw new Error("random called more often than the test expected");
  return next;
};

const recordSleeps = () => {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
};

const appWith = (options: ChaosOptions) => new Hono().use(chaos(options)).get("/data", (c) => c.json({ ok: true }));

describe("parseDelayRange", () => {
  test.each([
    ["0-5000", { min: 0, max: 5000 }],
    ["250", { min: 250, max: 250 }],
    ["100-100", { min: 100, max: 100 }],
    ["0", { min: 0, max: 0 }],
  ])("parses %s", (raw, expected) => {
    expect(parseDelayRange("X", raw)).toEqual(expected);
  });

  test("missing or empty means no delay", () => {
    expect(parseDelayRange("X", undefined)).toBeUndefined();
    expect(parseDelayRange("X", "")).toBeUndefined();
  });

  test.each(["abc", "-5", "1.5", "5-", "-", "1-2-3", " 1-2", "1 - 2", "1e3", "0x10", "2147483648"])("rejects %p naming the variable", (raw) => {
    expect(() => parseDelayRange("INVENTORY_DELAY_MS", raw)).toThrow(/^INVENTORY_DELAY_MS must be milliseconds/);
  });

  test("rejects min above max", () => {
    expect(() => parseDelayRange("INVENTORY_DELAY_MS", "500-100")).toThrow('INVENTORY_DELAY_MS: min must not exceed max, got "500-100"');
  });
});

describe("chaosFromEnv", () => {
  test("off when nothing is set", () => {
    expect(chaosFromEnv({})).toEqual({ delayMs: undefined, failRate: 0, failRateName: "INVENTORY_FAIL_RATE" });
  });

  test("reads both knobs", () => {
    expect(chaosFromEnv({ INVENTORY_DELAY_MS: "10-20", INVENTORY_FAIL_RATE: "0.2" })).toEqual({ delayMs: { min: 10, max: 20 }, failRate: 0.2, failRateName: "INVENTORY_FAIL_RATE" });
  });

  test("another service's variables with its prefix", () => {
    expect(chaosFromEnv({ PAYMENT_DELAY_MS: "5", PAYMENT_FAIL_RATE: "1", INVENTORY_FAIL_RATE: "0.5" }, "PAYMENT")).toEqual({ delayMs: { min: 5, max: 5 }, failRate: 1, failRateName: "PAYMENT_FAIL_RATE" });
  });

  test.each(["-0.1", "1.5", "abc", "Infinity"])("rejects fail rate %p naming the variable", (raw) => {
    expect(() => chaosFromEnv({ INVENTORY_FAIL_RATE: raw })).toThrow(/^INVENTORY_FAIL_RATE must be a number in \[0, 1\]/);
  });

  test("rejects a bad delay", () => {
    expect(() => chaosFromEnv({ INVENTORY_DELAY_MS: "fast" })).toThrow(/INVENTORY_DELAY_MS/);
  });
});

describe("chaos middleware", () => {
  test("sleeps for the drawn value, uniform over [min, max] with max included", async () => {
    const { slept, sleep } = recordSleeps();
    const app = appWith({ delayMs: { min: 100, max: 200 }, random: draws(0, 0.5, 0.999999), sleep });
    for (let i = 0; i < 3; i++) expect((await app.request("/data")).status).toBe(200);
    expect(slept).toEqual([100, 150, 200]);
  });

  test("a single-number delay sleeps exactly that long", async () => {
    const { slept, sleep } = recordSleeps();
    const app = appWith({ delayMs: { min: 250, max: 250 }, random: draws(0.7), sleep });
    await app.request("/data");
    expect(slept).toEqual([250]);
  });

  test("a zero delay does not sleep", async () => {
    const { slept, sleep } = recordSleeps();
    await appWith({ delayMs: { min: 0, max: 0 }, random: draws(0.5), sleep }).request("/data");
    expect(slept).toEqual([]);
  });

  test("fails the drawn share with 500 INJECTED_FAILURE, passes the rest", async () => {
    const app = appWith({ failRate: 0.2, random: draws(0.19, 0.2) });
    const failed = await app.request("/data");
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as any).error.code).toBe("INJECTED_FAILURE");
    const passed = await app.request("/data");
    expect(passed.status).toBe(200);
    expect(await passed.json()).toEqual({ ok: true });
  });

  test("delays before failing, so a failure can also be slow", async () => {
    const { slept, sleep } = recordSleeps();
    const app = appWith({ delayMs: { min: 0, max: 1000 }, failRate: 1, random: draws(0.5, 0), sleep });
    expect((await app.request("/data")).status).toBe(500);
    expect(slept).toEqual([500]);
  });

  test("off by default: no draw, no sleep, no failure", async () => {
    const { slept, sleep } = recordSleeps();
    const app = appWith({ random: draws(), sleep });
    expect((await app.request("/data")).status).toBe(200);
    expect(slept).toEqual([]);
  });
});

describe("chaos settings changed at run time", () => {
  test("the middleware reads the holder on every request: a change applies to the next one", async () => {
    const { slept, sleep } = recordSleeps();
    const settings = createChaosSettings();
    const app = appWith({ settings, random: () => 0.5, sleep });
    expect((await app.request("/data")).status).toBe(200);
    settings.set({ delayMs: { min: 100, max: 300 }, failRate: 0 });
    expect((await app.request("/data")).status).toBe(200);
    expect(slept).toEqual([200]);
    settings.set({ delayMs: null, failRate: 1 });
    expect((await app.request("/data")).status).toBe(500);
    settings.set({ delayMs: null, failRate: 0 });
    expect((await app.request("/data")).status).toBe(200);
    expect(slept).toEqual([200]);
  });

  test("starts from the given knobs, off by default, and hands out a copy it will not change under a reader", () => {
    expect(createChaosSettings().get()).toEqual({ delayMs: null, failRate: 0 });
    const settings = createChaosSettings({ delayMs: { min: 1, max: 2 }, failRate: 0.5 });
    const before = settings.get();
    const range = { min: 5, max: 6 };
    settings.set({ delayMs: range, failRate: 0 });
    range.max = 99;
    expect(before).toEqual({ delayMs: { min: 1, max: 2 }, failRate: 0.5 });
    expect(settings.get()).toEqual({ delayMs: { min: 5, max: 6 }, failRate: 0 });
  });

  test("given settings, the options' own delayMs and failRate are not used", async () => {
    const app = appWith({ settings: createChaosSettings(), failRate: 1, random: () => 0 });
    expect((await app.request("/data")).status).toBe(200);
  });
});
