// The Redis part of `bun run dev` (scripts/redis.ts): the probe, and the session's own redis-server, started
// here on a free port rather than 6379 (where the machine's shared Redis may be running).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { redisAnswers, redisServerOnPath, startSessionRedis } from "../scripts/redis.ts";
import { freePort } from "./support/free-ports.ts";

if (!redisServerOnPath()) {
  if (process.env.CI === "true") throw new Error("CI=true: the dev runner's Redis tests need redis-server on PATH");
  console.warn("skipping the dev runner's session Redis tests: redis-server is not installed (Debian package redis-server)");
}

describe("redisAnswers", () => {
  test("is false where nothing listens", async () => {
    expect(await redisAnswers(`redis://127.0.0.1:${freePort()}`)).toBe(false);
  });

  test("is false for a server that is not Redis (it answers HTTP, not a Redis reply)", async () => {
    const server = Bun.serve({ port: 0, fetch: () => new Response("hello") });
    try {
      expect(await redisAnswers(`redis://127.0.0.1:${server.port}`)).toBe(false);
    } finally {
      server.stop(true);
    }
  });
});

describe.skipIf(!redisServerOnPath())("the session's redis-server", () => {
  test("answers once started, keeps its files in a temp directory, and is gone after stop", async () => {
    const port = freePort();
    const redis = await startSessionRedis(port);
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${port}`);
      expect(await redisAnswers(redis.url)).toBe(true);
      expect(redis.dir.startsWith(tmpdir())).toBe(true);
      expect(existsSync(redis.dir)).toBe(true);
    } finally {
      await redis.stop();
    }
    expect(redis.proc.exitCode ?? redis.proc.signalCode).not.toBeNull();
    expect(await redisAnswers(redis.url)).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
  });

  test("a port that is taken is an error naming it, and leaves no directory behind", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const sessionDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith("storefront-redis-")).sort();
    const before = sessionDirs();
    try {
      await expect(startSessionRedis(holder.port)).rejects.toThrow(`redis-server on port ${holder.port} did not start`);
    } finally {
      holder.stop(true);
    }
    expect(sessionDirs()).toEqual(before);
  });
});
