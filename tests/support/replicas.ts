// Two of everything for the scale-out tests: two instances of every service that has a database (one database
// per service, shared by its two instances, on TEST_DATABASE_URL's server) and two BFFs, each app given its
// upstreams as a two-address list, all on one queue prefix of the real Redis. An instance can be killed,
// stopped and started again on its own port with its own environment.
import { APPS, urlEnv, type AppName, type Ports } from "../../scripts/apps.ts";
import { freshAuthSecrets, type AuthSecrets } from "../../scripts/auth.ts";
import { waitUntilReady } from "../../scripts/wait-ready.ts";
import { freePorts } from "./free-ports.ts";
import { startProcess, type TestProcess } from "./processes.ts";
import { appProcessEnv, freshQueue, freshStorage, stopAll, usesRealPostgres, type QueueSpace, type Storage } from "./stack.ts";

/** Every app but web (a client of the BFF like the test itself). */
export const REPLICATED = APPS.filter((a) => a.name !== "web");
export const SERVICES = REPLICATED.filter((a) => a.name !== "bff").map((a) => a.name);

/** Twenty processes starting at once on two cores: the slowest takes a while. */
export const REPLICAS_READY_TIMEOUT_MS = 90_000;

/**
 * Whether the replica tests can run here: two processes cannot share an embedded database, so they need a
 * real server. Without one they are skipped with a printed reason; under CI=true that is a failure.
 */
export function replicasCanRun(suite: string): boolean {
  if (usesRealPostgres) return true;
  const reason = "two instances of a service must share its database, and an embedded one cannot be shared by two processes; set TEST_DATABASE_URL";
  if (process.env.CI === "true") throw new Error(`CI=true: ${suite} must run, but ${reason}`);
  console.warn(`skipping ${suite}: ${reason}`);
  return false;
}

export type AppInstance = {
  readonly app: AppName;
  /** 0 or 1. */
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** The environment it was started with, kept to start it again the same way. */
  readonly env: Record<string, string | undefined>;
  proc: TestProcess;
};

export type ReplicaStack = {
  storage: Storage;
  queue: QueueSpace;
  instances: AppInstance[];
  instance(app: AppName, index: number): AppInstance;
  /** Both BFFs' base URLs. */
  bffUrls: [string, string];
  /** The database URL of a service (both its instances use it). */
  databaseUrl(app: AppName): string;
  /** Starts the instance again on its port with its environment (it must have exited), and waits until ready. */
  restart(instance: AppInstance): Promise<void>;
  /** Starts again every instance that is not running. */
  restoreAll(): Promise<void>;
  stop(): Promise<void>;
};

const running = (i: AppInstance) => i.proc.proc.exitCode === null && !i.proc.proc.signalCode;
const base = (port: number) => `http://127.0.0.1:${port}`;

/** The same app ports with `app` moved to its instance `index`: what appProcessEnv builds that instance's PORT from. */
const portsOf = (ports: Record<AppName, number[]>, index: number): Ports =>
  Object.fromEntries(Object.entries(ports).map(([name, pair]) => [name, pair[index]!])) as Ports;

function instanceEnv(name: AppName, index: number, ports: Record<AppName, number[]>, env: Record<string, string>, secrets: AuthSecrets) {
  const own: Record<string, string | undefined> = appProcessEnv(name, portsOf(ports, index), env, secrets);
  // Every upstream as the list of both its instances: the shared client balances over them.
  const spec = REPLICATED.find((a) => a.name === name)!;
  for (const upstream of spec.upstreams) own[urlEnv(upstream)] = ports[upstream]!.map(base).join(",");
  return own;
}

async function waitReady(instances: AppInstance[], timeoutMs: number) {
  const giveUp = new AbortController();
  try {
    await Promise.all(
      instances.map(async (i) => {
        const exited = i.proc.proc.exited.then((code) => {
          throw new Error(`${i.proc.name} exited with ${code} during start-up:\n${i.proc.output.slice(-20).join("\n")}`);
        });
        exited.catch(() => {}); // settles with the race below, or never matters once ready
        await Promise.race([waitUntilReady(`${i.url}/ready`, { timeoutMs, signal: giveUp.signal }), exited]);
      }),
    );
  } finally {
    giveUp.abort();
  }
}

/** Two instances of every app but web on fresh databases and a fresh queue prefix; `env` goes to all of them. */
export async function startReplicaStack(label: string, env: Record<string, string>): Promise<ReplicaStack> {
  const storage = await freshStorage(label, SERVICES);
  const queue = freshQueue(label);
  const secrets = await freshAuthSecrets();
  const free = freePorts(REPLICATED.length * 2);
  const ports = Object.fromEntries(REPLICATED.map((a, k) => [a.name, [free[2 * k]!, free[2 * k + 1]!]])) as Record<AppName, number[]>;
  const common = { ...storage.env, ...queue.env, ...env };
  const launch = (app: AppName, index: number, envOf: Record<string, string | undefined>) =>
    startProcess(`${app}#${index + 1}`, [`apps/${app}/src/index.ts`], envOf);

  const instances: AppInstance[] = REPLICATED.flatMap((a) =>
    [0, 1].map((index) => {
      const own = instanceEnv(a.name, index, ports, common, secrets);
      return { app: a.name, index, port: ports[a.name]![index]!, url: base(ports[a.name]![index]!), env: own, proc: launch(a.name, index, own) };
    }),
  );
  const stop = async () => {
    await stopAll(instances.map((i) => i.proc));
    // After the apps: until they have stopped, relays and workers still write under the prefix.
    await queue.cleanup();
    await storage.cleanup();
  };
  try {
    await waitReady(instances, REPLICAS_READY_TIMEOUT_MS);
  } catch (err) {
    await stop();
    throw err;
  }

  const instance = (app: AppName, index: number) => instances.find((i) => i.app === app && i.index === index)!;
  const restart = async (i: AppInstance) => {
    if (running(i)) throw new Error(`${i.proc.name} is still running; stop or kill it first`);
    i.proc = launch(i.app, i.index, i.env);
    await waitReady([i], 30_000);
  };
  return {
    storage,
    queue,
    instances,
    instance,
    bffUrls: [instance("bff", 0).url, instance("bff", 1).url],
    databaseUrl: (app) => storage.env[`${app.toUpperCase()}_DATABASE_URL`]!,
    restart,
    restoreAll: async () => void (await Promise.all(instances.filter((i) => !running(i)).map(restart))),
    stop,
  };
}

/** Requests an app answered, by route (not /ready, /health or /metrics), read from its /metrics. */
export async function requestsServed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { connection: "close" } })).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const match = /^http_requests_total\{([^}]*)\} (\d+)/.exec(line);
    if (match && !/route="\/(ready|health|metrics)"/.test(match[1]!)) total += Number(match[2]);
  }
  return total;
}
