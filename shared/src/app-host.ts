// What an app asks of the process it runs in: where its log lines go, when it must stop, how it ends, and the
// guard against errors nobody handled. Started on its own (`bun apps/<name>/src/index.ts`, a container), an app
// owns its process: the signals stop it and its end is the process's exit. `bun run dev` runs every app in one
// process (scripts/stack.ts, a few hundred MB instead of a few GB) and gives each a host of its own there, so
// one app's end is reported to that runner instead of ending the others.
import type { EmbeddedServer } from "./db/embedded-server.ts";
import { installProcessGuards, type ProcessGuardOptions } from "./process-guards.ts";

export type AppHost = {
  /** Where the app's log lines go. */
  write(line: string): void;
  /** Registers what to do when the app must stop (SIGINT/SIGTERM for an app that owns its process). */
  onStop(stop: (why: string) => void): void;
  /** The app has ended with this exit code. The process host exits; an in-process host returns. */
  exit(code: number): void;
  /** Installs the handlers of errors nobody handled. */
  guard(options: ProcessGuardOptions): void;
  /**
   * The process's one embedded Postgres (bun run dev): a service given no database URL takes a schema named after
   * it there, instead of starting a PGlite of its own (~300 MB each).
   */
  readonly embeddedServer?: EmbeddedServer;
};

/** Thrown after host.exit() when the host returned (in-process): unwinds the app's start-up. */
export class AppExitedError extends Error {
  constructor(readonly code: number) {
    super(`the app ended with exit code ${code}`);
    this.name = "AppExitedError";
  }
}

/** The host of an app that owns its process. */
export const processHost: AppHost = {
  write: (line) => console.log(line),
  onStop(stop) {
    // `on`, not `once`: a second signal while draining (a supervisor plus a terminal's Ctrl-C) must not fall
    // through to the default handler and kill in-flight requests; the app's own stop makes repeats a no-op.
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  },
  exit: (code) => process.exit(code),
  guard: installProcessGuards,
};
