// Child processes for cross-service tests: output kept for failure messages, waits for a line, and a stop
// that always ends them (SIGTERM, then SIGKILL), with an exit hook so a crashed test run leaves nothing behind.
import type { Subprocess } from "bun";
import { fileURLToPath } from "node:url";
import { forEachLine } from "../../scripts/lines.ts";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export type TestProcess = {
  name: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every line the process wrote so far, stdout and stderr, in arrival order. */
  output: string[];
  waitForLine: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
  /** Resolves to the exit code, or throws when it has not exited within `timeoutMs`. */
  exitWithin: (timeoutMs: number) => Promise<number | null>;
  stop: (graceMs?: number) => Promise<void>;
};

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

export function startProcess(name: string, args: string[], env: Record<string, string | undefined>): TestProcess {
  const proc = Bun.spawn([process.execPath, ...args], { cwd: repoRoot, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    output.push(line);
    for (const wake of waiters) wake();
  };
  void forEachLine(proc.stdout, onLine);
  void forEachLine(proc.stderr, onLine);

  const tail = () => `\n--- last output of ${name} ---\n${output.slice(-30).join("\n")}`;

  const waitForLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        for (const line of output) {
          const match = line.match(pattern);
          if (match) return finish(() => resolve(match));
        }
        if (proc.exitCode !== null || proc.signalCode) finish(() => reject(new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before printing ${pattern}${tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms${tail()}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      void proc.exited.then(() => setTimeout(check, 50)); // let the last lines arrive first
      check();
    });

  const exitWithin = async (timeoutMs: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} still running ${timeoutMs} ms later${tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([proc.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const stop = async (graceMs = 10_000) => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill("SIGTERM");
    await exitWithin(graceMs).catch(() => {
      proc.kill("SIGKILL");
      return proc.exited;
    });
  };

  return { name, proc, output, waitForLine, exitWithin, stop };
}
