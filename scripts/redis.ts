// Redis for `bun run dev`: whether one answers, and a redis-server of the session's own when none does
// (nothing kept on disk, files in a temp directory, stopped with the session).
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forEachLine } from "./lines.ts";

/** Where the apps look without REDIS_URL (DEFAULT_REDIS_URL in shared/src/notifications/events.ts). */
export const DEV_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * Whether a Redis server answers at `url`: an inline PING over a plain socket, so the runner needs no client
 * library. An error reply (NOAUTH on a server with a password) counts too: a server is there.
 */
export function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answered: boolean, socket?: { end(): void }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.end();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    Bun.connect({
      hostname: hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
      port: Number(port || 6379),
      tls: protocol === "rediss:",
      socket: {
        open: (socket) => void socket.write("PING\r\n"),
        data: (socket, data) => finish(/^[+-]/.test(data.toString()), socket),
        close: () => finish(false),
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false));
  });
}

export type SessionRedis = { url: string; dir: string; proc: Subprocess; stop(): Promise<void>; kill(): void };

/** Starts redis-server on 127.0.0.1:`port` with persistence off; throws with its last output when it cannot. */
export async function startSessionRedis(port: number, onLine: (line: string) => void = () => {}): Promise<SessionRedis> {
  const dir = mkdtempSync(join(tmpdir(), "storefront-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  const output: string[] = [];
  const proc = Bun.spawn(
    ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning"],
    // Own process group: Ctrl-C reaches the runner only, which stops Redis after the apps have drained
    // (the notifications worker still talks to it while it finishes its jobs).
    { detached: true, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const keep = (line: string) => {
    output.push(line);
    onLine(line);
  };
  void forEachLine(proc.stdout, keep);
  void forEachLine(proc.stderr, keep);

  const kill = () => {
    if (proc.exitCode === null && !proc.signalCode) proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (proc.exitCode === null && !proc.signalCode) proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 5000;
  while (!(await redisAnswers(url, 500))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      await Bun.sleep(50); // its last lines
      const last = output.filter((l) => l.trim()).slice(-3).join(" / ");
      throw new Error(`redis-server on port ${port} did not start${last ? `: ${last}` : ""}`);
    }
    await Bun.sleep(50);
  }
  return { url, dir, proc, stop, kill };
}

export const redisServerOnPath = () => Bun.which("redis-server") !== null;
