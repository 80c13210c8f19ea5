// The chaos run's supervisor: each app keeps its port and environment for the whole run; what the run kills
// it restarts, and an app that exits on its own (the BFF above all) is recorded, with its last log lines,
// and restarted too, so that the run carries on and the report says so.
import { startApp, stopAll, tail, type AppName, type RunningApp } from "../stack.ts";

export type UnexpectedExit = { app: AppName; atMs: number; how: string; lastLines: string };

export type SupervisedApp = { name: AppName; port: number; url: string; env: Record<string, string> };

export type Supervisor = {
  start(name: AppName, env: Record<string, string>): Promise<SupervisedApp>;
  /** SIGKILL, and wait until it is gone. */
  kill(name: AppName): Promise<void>;
  /** Starts it again, same port and environment, trying until it answers /ready (true) or the run stops (false). */
  restart(name: AppName): Promise<boolean>;
  /** Exits the run did not cause, in order. */
  unexpectedExits: UnexpectedExit[];
  /** From here on exits are expected: nothing is recorded or restarted. */
  stopAll(): Promise<void>;
};

type Entry = SupervisedApp & { current: RunningApp; killing: boolean; restarting: Promise<boolean> | null };

export function createSupervisor(options: { now: () => number; log: (msg: string) => void }): Supervisor {
  const { now, log } = options;
  const apps = new Map<AppName, Entry>();
  const unexpectedExits: UnexpectedExit[] = [];
  let stopping = false;
  const entry = (name: AppName) => {
    const e = apps.get(name);
    if (!e) throw new Error(`${name} was never started`);
    return e;
  };

  const watch = (e: Entry, app: RunningApp) => {
    void app.exited.then((how) => {
      if (stopping || e.killing || e.current !== app) return;
      unexpectedExits.push({ app: e.name, atMs: now(), how, lastLines: tail(app.logFile, 5) });
      log(`${e.name} exited on its own (${how}); restarting it`);
      void restartUntilUp(e);
    });
  };

  const launch = async (e: Entry) => {
    const app = await startApp(e.name, e.env, e.name, { port: e.port, detached: true });
    e.current = app;
    e.killing = false;
    watch(e, app);
  };

  // A start can fail when the app dies again before it is ready (the same fault): that is one more exit of
  // its own; keep trying while the run lasts.
  const restartUntilUp = (e: Entry): Promise<boolean> =>
    (e.restarting ??= (async () => {
      try {
        while (!stopping) {
          try {
            await launch(e);
            return true;
          } catch (err) {
            if (stopping) return false;
            const message = (err as Error).message;
            const how = /exited \(([^)]*)\)/.exec(message)?.[1];
            if (how) unexpectedExits.push({ app: e.name, atMs: now(), how: `${how} before ready`, lastLines: message.split("\n").slice(-5).join("\n") });
            log(`${e.name} did not come back: ${message.split("\n")[0]}; trying again`);
            await Bun.sleep(500);
          }
        }
        return false;
      } finally {
        e.restarting = null;
      }
    })());

  return {
    unexpectedExits,
    async start(name, env) {
      const app = await startApp(name, env, name, { detached: true });
      const e: Entry = { name, port: app.port, url: app.url, env, current: app, killing: false, restarting: null };
      apps.set(name, e);
      watch(e, app);
      return { name, port: e.port, url: e.url, env };
    },
    async kill(name) {
      const e = entry(name);
      await e.restarting;
      e.killing = true;
      try {
        process.kill(e.current.pid, "SIGKILL");
      } catch {} // already gone
      await e.current.exited;
    },
    restart: (name) => restartUntilUp(entry(name)),
    async stopAll() {
      stopping = true;
      await stopAll();
    },
  };
}
