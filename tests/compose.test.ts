// Keeps compose.yaml true to the code without a Docker engine: every app is there, on its port, with every
// environment variable its source reads, databases, Redis and upstream URLs that point at the right services,
// healthchecks, and start order by health (except Redis, which only the notifications worker waits for).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { APPS, type AppSpec } from "../scripts/apps.ts";
import { repoRoot } from "./support/processes.ts";

type Service = {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: number | string })[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  volumes?: (string | { source?: string; target?: string })[];
};

const compose = Bun.YAML.parse(readFileSync(join(repoRoot, "compose.yaml"), "utf8")) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const upper = (app: AppSpec) => app.name.toUpperCase();
const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(" ") : (value ?? ""));

/** `environment:` as a map, whichever of its two compose forms is used. */
function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((entry) => [entry.split("=")[0]!, entry.slice(entry.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** An app's own (non-test) source files; `testing/` folders hold test support, not what the service reads. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "testing" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// `env.NAME`, `env["NAME"]`, and helpers called as `xFromEnv(env, "NAME", ...)` / `fn(env, "NAME")`.
const ENV_READS = [/\benv\.([A-Z][A-Z0-9_]*)\b/g, /\benv\[\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*\]/g, /\(\s*env\s*,\s*["'`]([A-Z][A-Z0-9_]*)["'`]/g];

const appSource = (app: AppSpec) => sourceFiles(join(repoRoot, "apps", app.name, "src")).map((file) => readFileSync(file, "utf8"));

/** Every environment variable an app's (non-test) source reads. */
function envReadBy(app: AppSpec): string[] {
  const names = new Set<string>();
  for (const raw of appSource(app)) {
    // The shared demo knobs: chaosFromEnv(env, "PREFIX") reads PREFIX_DELAY_MS and PREFIX_FAIL_RATE (INVENTORY_ by default).
    const source = raw.replace(/chaosFromEnv\(\s*env\s*(?:,\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*)?\)/g, (_, prefix = "INVENTORY") => {
      names.add(`${prefix}_DELAY_MS`).add(`${prefix}_FAIL_RATE`);
      return "";
    });
    for (const pattern of ENV_READS) for (const match of source.matchAll(pattern)) names.add(match[1]!);
  }
  return [...names].sort();
}

/** The services that write notification events to an outbox and relay them to the queue. */
const relays = APPS.filter((app) => appSource(app).some((source) => source.includes("startOutboxRelay(")));
const volumeTargets = (service: Service) => (service.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));

describe("compose.yaml", () => {
  test("has Postgres 16, Redis 7 and the eleven apps, and nothing else", () => {
    expect(Object.keys(services).sort()).toEqual(["postgres", "redis", ...APPS.map((a) => a.name)].sort());
    expect(services.postgres!.image).toMatch(/^postgres:16(\b|$)/);
    expect(text(services.postgres!.healthcheck?.test)).toContain("pg_isready");
  });

  describe("redis", () => {
    const redis = services.redis ?? {};
    const command = text(redis.command);

    test("is Redis 7 with a ping healthcheck", () => {
      expect(redis.image).toMatch(/^redis:7(\b|$)/);
      expect(text(redis.healthcheck?.test)).toMatch(/redis-cli\b.*\bping\b/);
    });

    test("keeps the queue across a restart: AOF on, on a named volume", () => {
      expect(command).toMatch(/^redis-server\b/);
      expect(command).toMatch(/--appendonly yes\b/);
      const data = volumeTargets(redis).find((v) => v.endsWith(":/data"));
      expect(data).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(data!.split(":")[0]!);
    });

    test("never evicts keys (BullMQ's production setting)", () => {
      expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    });
  });

  test("the init script creates a database for every app that has one", () => {
    const mount = volumeTargets(services.postgres!).find((v) => v.includes("/docker-entrypoint-initdb.d/"));
    expect(mount).toBeDefined();
    const script = readFileSync(join(repoRoot, mount!.split(":")[0]!), "utf8");
    const created = [...script.matchAll(/create database\s+"?([a-z_][a-z0-9_]*)"?/gi)].map((m) => m[1]!.toLowerCase()).sort();
    expect(created).toEqual(APPS.filter((a) => a.hasDatabase).map((a) => a.name).sort());
  });

  test("the app image is the pinned Bun with a frozen install", () => {
    const dockerfiles = new Set(APPS.map((a) => services[a.name]?.build?.dockerfile));
    expect(dockerfiles.size).toBe(1);
    const dockerfile = readFileSync(join(repoRoot, [...dockerfiles][0]!), "utf8");
    const pinned = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { packageManager: string }).packageManager.replace("bun@", "");
    expect(dockerfile).toContain(`FROM oven/bun:${pinned}\n`);
    expect(dockerfile).toContain("bun install --frozen-lockfile");
  });

  for (const app of APPS) {
    describe(app.name, () => {
      const service = services[app.name] ?? {};
      const env = environmentOf(service);

      test("runs its entry point on its port, with a /ready healthcheck", () => {
        expect(text(service.command)).toBe(`bun ${app.entry}`);
        expect(existsSync(join(repoRoot, app.entry))).toBe(true);
        expect(env.PORT).toBe(String(app.defaultPort));
        if (app.name === "bff" || app.name === "web") expect(service.ports ?? []).toContainEqual(`${app.defaultPort}:${app.defaultPort}`);
        else expect((service.expose ?? []).map(String)).toContain(String(app.defaultPort));
        expect(text(service.healthcheck?.test)).toContain(`http://127.0.0.1:${app.defaultPort}/ready`);
      });

      test("sets every environment variable its code reads", () => {
        const reads = envReadBy(app);
        expect(reads).toContain("PORT"); // proves the scan sees this app's reads at all
        // The data directory only matters for the embedded database; compose gives a real one instead.
        const needed = reads.filter((name) => !(name.endsWith("_DATA_DIR") && env[name.replace(/_DATA_DIR$/, "_DATABASE_URL")]));
        expect(needed.filter((name) => !(name in env))).toEqual([]);
      });

      test("passes LOG_LEVEL through from the shell (read by the shared logger, so not seen by the scan above)", () => {
        expect(env.LOG_LEVEL).toBe("${LOG_LEVEL:-}");
      });

      if (envReadBy(app).includes("REDIS_URL")) {
        test("reaches the compose Redis, under the shared queue prefix", () => {
          expect(env.REDIS_URL).toBe("redis://redis:6379");
          expect(env.QUEUE_PREFIX).toBe("${QUEUE_PREFIX:-}");
        });
      }

      for (const upstream of app.upstreams) {
        test(`reaches ${upstream} by service name and port`, () => {
          const spec = APPS.find((a) => a.name === upstream)!;
          expect(env[`${upper(spec)}_URL`]).toBe(`http://${spec.name}:${spec.defaultPort}`);
        });
      }

      if (app.hasDatabase) {
        test("uses its own database on the compose Postgres, once that is healthy", () => {
          const url = new URL(env[`${upper(app)}_DATABASE_URL`] ?? "missing://");
          expect(url.protocol).toBe("postgres:");
          expect(url.hostname).toBe("postgres");
          expect(url.pathname).toBe(`/${app.name}`);
          const pg = environmentOf(services.postgres!);
          expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER ?? "postgres");
          expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD ?? "");
          expect(service.depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
        });
      } else {
        test("starts once every upstream is healthy", () => {
          expect(app.upstreams.length).toBeGreaterThan(0);
          for (const upstream of app.upstreams) expect(service.depends_on).toMatchObject({ [upstream]: { condition: "service_healthy" } });
        });
      }
    });
  }

  test("publishes the web app's and the BFF's ports only: services, Postgres and Redis are reached on compose's network", () => {
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports?.length ? [name] : []));
    expect(published.sort()).toEqual(["bff", "web"]);
  });

  test("keys and client secrets come from the environment, none is written here", () => {
    const file = readFileSync(join(repoRoot, "compose.yaml"), "utf8");
    expect(file).not.toContain("BEGIN PRIVATE KEY");
    const users = environmentOf(services.users!);
    const worker = environmentOf(services.notifications!);
    expect(users.AUTH_PRIVATE_KEY).toMatch(/^\$\{AUTH_PRIVATE_KEY:\?/);
    expect(users.SERVICE_CLIENT_SECRETS).toMatch(/^notifications=\$\{NOTIFICATIONS_CLIENT_SECRET:\?[^}]*\},orders=\$\{ORDERS_CLIENT_SECRET:\?[^}]*\}$/);
    expect(worker.SERVICE_CLIENT_SECRET).toMatch(/^\$\{NOTIFICATIONS_CLIENT_SECRET:\?/);
    expect(worker.SERVICE_CLIENT_ID).toBe("notifications");
    const orders = environmentOf(services.orders!);
    expect(orders.SERVICE_CLIENT_SECRET).toMatch(/^\$\{ORDERS_CLIENT_SECRET:\?/);
    expect(orders.SERVICE_CLIENT_ID).toBe("orders");
    expect(orders.ORDERS_CRASH_AT).toBe("");
  });

  test("the notifications worker starts once Redis is healthy", () => {
    expect(services.notifications?.depends_on).toMatchObject({ redis: { condition: "service_healthy" } });
  });

  test("the services with an outbox relay do not wait for Redis: they serve without it, and their outbox keeps the events", () => {
    expect(relays.map((a) => a.name).sort()).toEqual(["cart", "delivery", "inventory", "orders", "products"]);
    for (const app of relays) {
      const dependsOn = services[app.name]?.depends_on ?? {};
      const names = Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
      expect({ app: app.name, waitsForRedis: names.includes("redis") }).toEqual({ app: app.name, waitsForRedis: false });
    }
  });
});
