// Keeps one app of `bun run dev` running: spawns it with its output passed on line by line, restarts it with
// exponential backoff when it exits on its own, and stops it for good (a pending restart included) on request.
import type { Subprocess } from "bun";
import { forEachLine } from "./lines.ts";

export type Backoff = { firstMs: number; maxMs: number; stableAfterMs: number };

// Fast enough that a one-off crash costs half a second; capped so a broken app is still retried twice a minute
// without flooding the terminal. A crash after stableAfterMs up is a new problem, so its waits start over.
export const DEV_BACKOFF: Backoff = { firstMs: 500, maxMs: 30_000, stableAfterMs: 30_000 };

/** The wait before the `n`th restart in a row (n from 1): firstMs, doubling each time, at most maxMs. */
export const restartDelayMs = (n: number, backoff: Backoff = DEV_BACKOFF) => Math.min(backoff.maxMs, backoff.firstMs * 2 ** (n - 1));

export type Exit = { code: number | null; signal: NodeJS.Signals | number | null };
export const describeExit = (exit: Exit) => (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`);

export type SuperviseOptions = {
  name: string;
  cmd: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  say: (msg: string) => void;
  /** Resolves once a restarted process serves again; the signal aborts when it exits or is stopped. */
  waitReady?: (signal: AbortSignal) => Promise<void>;
  backoff?: Backoff;
};

export type SupervisedApp = {
  readonly name: string;
  /** Exits nobody asked for, restarted or about to be. */
  readonly crashes: number;
  /** How the latest of those ended. */
  readonly lastCrash: Exit | null;
  /** How the latest process ended; null while it runs. */
  readonly exit: Exit | null;
  readonly running: boolean;
  /** Cancels a pending restart and sends SIGTERM (once) to a running process; resolves when none runs. */
  stop(): Promise<void>;
  /** SIGKILL to a running process: stop's grace is over, or the runner itself is going. */
  kill(): void;
  /** Resolves when the latest process's output has been passed on. */
  outputDone(): Promise<unknown>;
};

export function supervise(options: SuperviseOptions): SupervisedApp {
  const { name, say, waitReady, backoff = DEV_BACKOFF } = options;
  let stopped = false;
  let crashes = 0;
  let lastCrash: Exit | null = null;
  let inARow = 0;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let readyWatch: AbortController | undefined;

  const spawn = () => {
    const proc = Bun.spawn(options.cmd, {
      cwd: options.cwd,
      env: options.env,
      // Own process group: Ctrl-C reaches only the runner, and each app gets exactly one SIGTERM from it
      // (a second signal during its drain would kill it with the default action).
      detached: true,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const output = Promise.all([
      forEachLine(proc.stdout, (line) => options.onLine(line, "stdout")),
      forEachLine(proc.stderr, (line) => options.onLine(line, "stderr")),
    ]);
    const startedAt = performance.now();
    void proc.exited.then(() => {
      if (!stopped) scheduleRestart(proc, performance.now() - startedAt);
    });
    return { proc, output };
  };

  const exitOf = (proc: Subprocess): Exit | null =>
    proc.exitCode === null && !proc.signalCode ? null : { code: proc.exitCode, signal: proc.signalCode ?? null };

  const scheduleRestart = (exited: Subprocess, upMs: number) => {
    crashes += 1;
    lastCrash = exitOf(exited);
    inARow = upMs >= backoff.stableAfterMs ? 1 : inARow + 1;
    const delayMs = restartDelayMs(inARow, backoff);
    const restart = crashes;
    const exitedAt = performance.now();
    say(`!! ${name} exited unexpectedly (${describeExit(lastCrash!)}); restarting it in ${(delayMs / 1000).toFixed(1)} s (restart ${restart})`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopped) return;
      current = spawn();
      watchReady(current.proc, restart, exitedAt);
    }, delayMs);
  };

  // Not awaited by anyone: the other apps and the runner carry on while this one comes back.
  const watchReady = (proc: Subprocess, restart: number, exitedAt: number) => {
    if (!waitReady) return;
    const watch = new AbortController();
    readyWatch = watch;
    void proc.exited.then(() => watch.abort());
    waitReady(watch.signal).then(
      () => {
        if (!watch.signal.aborted) say(`${name} is ready again after restart ${restart} (down ${((performance.now() - exitedAt) / 1000).toFixed(1)} s)`);
      },
      (err: Error) => {
        if (!watch.signal.aborted) say(`!! ${name} is still not ready after restart ${restart}: ${err.message}`);
      },
    );
  };

  let current = spawn();
  const running = () => exitOf(current.proc) === null;

  return {
    name,
    get crashes() {
      return crashes;
    },
    get lastCrash() {
      return lastCrash;
    },
    get exit() {
      return exitOf(current.proc);
    },
    get running() {
      return running();
    },
    stop() {
      if (!stopped) {
        stopped = true;
        clearTimeout(restartTimer);
        readyWatch?.abort();
        if (running()) current.proc.kill("SIGTERM");
      }
      return current.proc.exited.then(() => {});
    },
    kill() {
      if (running()) current.proc.kill("SIGKILL");
    },
    outputDone: () => current.output,
  };
}
