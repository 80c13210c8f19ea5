// The chaos run's private redis-server: one port and one data directory for its whole life, so that a SIGKILL
// and a restart keep the queued jobs; and redis-cli for the questions asked of it afterwards.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisAnswers } from "../../scripts/redis.ts";

export type ChaosRedis = {
  url: string;
  port: number;
  dir: string;
  /** SIGKILL, no chance to write anything more: what a crash does. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory; it replays its append-only file. */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
};

export async function startChaosRedis(port: number): Promise<ChaosRedis> {
  const dir = mkdtempSync(join(tmpdir(), "storefront-chaos-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let proc: Subprocess | undefined;
  let stopped = false;
  // Detached, so not in the runner's process group: make sure it does not outlive the runner.
  process.on("exit", () => proc?.kill("SIGKILL"));
  // AOF on, as compose.yaml advises for the queue (once the outbox has handed a job over, Redis holds its only
  // copy), but fsync on every write rather than compose's everysec: the run then proves that no acknowledged
  // job is lost across a kill, with no one-second window to argue about. No RDB snapshots (--save "").
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--save", ""];
  const start = async () => {
    // A restart racing the clean-up (Ctrl-C in the middle of a kill) must not leave a server behind.
    if (stopped) throw new Error("redis-server was stopped for good");
    proc = Bun.spawn(["redis-server", ...args, "--loglevel", "warning", "--logfile", join(dir, "redis.log")], {
      // Its own process group: a Ctrl-C reaches the chaos script, which stops Redis after the apps.
      detached: true,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    const until = Date.now() + 10_000;
    while (!(await redisAnswers(url, 500))) {
      if (proc.exitCode !== null || proc.signalCode || Date.now() > until) throw new Error(`redis-server on ${port} did not start (log: ${join(dir, "redis.log")})`);
      await Bun.sleep(50);
    }
  };
  const kill = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode) return;
    proc.kill("SIGKILL");
    await proc.exited;
  };
  await start();
  return {
    url,
    port,
    dir,
    kill,
    restart: start,
    async stop() {
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs commands through one redis-cli, pipelined from stdin. Its raw output: one line per integer or string
 * reply (an empty line for nil and for an empty list), one line per element of a list.
 */
export async function redisCli(port: number, commands: string[]): Promise<string[]> {
  const proc = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(port)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(commands.map((c) => `${c}\n`).join(""));
  await proc.stdin.end();
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`redis-cli on ${port} failed: ${err.trim() || out.trim()}`);
  return out.replace(/\n$/, "").split("\n");
}
