// Keeps compose.yaml true to the code without a Docker engine: every app is there, on its port, with every
// environment variable its source reads, databases, Redis and upstream URLs that point at the right services,
// healthchecks, and start order by health (except Redis, which only the notifications worker waits for); two
// replicas of every app with resource limits, ports published by web and the BFF only, the rest on an internal
// network, secrets from the environment; and an image (compose/Dockerfile) that holds no tests and runs as non-root.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { APPS, type AppSpec } from "../scripts/apps.ts";
import { appSource, envReadBy } from "./support/env-reads.ts";
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
  networks?: string[] | Record<string, unknown>;
  container_name?: string;
  deploy?: {
    replicas?: number;
    resources?: { limits?: { cpus?: string | number; memory?: string }; reservations?: { cpus?: string | number; memory?: string } };
  };
};

const composeText = readFileSync(join(repoRoot, "compose.yaml"), "utf8");
const compose = Bun.YAML.parse(composeText) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean } | null>;
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

/** The services that write notification events to an outbox and relay them to the queue. */
const relays = APPS.filter((app) => appSource(app).some((source) => source.includes("startOutboxRelay(")));
const volumeTargets = (service: Service) => (service.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
const networksOf = (service: Service) => (Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {})).sort();
const PUBLISHERS = ["bff", "web"];

/** The .env that `bun scripts/compose-env.ts > .env` writes, read as compose reads it (quotes off, "\n" kept). */
const composeEnv: Record<string, string> = Object.fromEntries(
  Bun.spawnSync(["bun", join(repoRoot, "scripts/compose-env.ts")]).stdout.toString().trim().split("\n").map((line) => {
    const at = line.indexOf("=");
    return [line.slice(0, at), line.slice(at + 1).replace(/^"(.*)"$/, "$1")];
  }),
);

/** Compose's interpolation: ${NAME}, ${NAME:-default}, and ${NAME:?message}, which fails when NAME is unset or empty. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, rest?: string) => {
    if (vars[name]) return vars[name]!;
    if (op === "?") throw new Error(`compose would stop: ${name}: ${rest}`);
    return op === "-" ? rest! : "";
  });
}

/** Compose memory sizes ("256M", "1G") in bytes. */
function bytes(size: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg])?b?$/i.exec(size ?? "");
  if (!match) return NaN;
  return Number(match[1]) * 1024 ** ["", "k", "m", "g"].indexOf((match[2] ?? "").toLowerCase());
}

type Instruction = { op: string; args: string };

/** A Dockerfile's instructions, one list per stage (each starting with its FROM); comments and directives dropped. */
function dockerfileStages(dockerfile: string): Instruction[][] {
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") stages.push([]);
    stages.at(-1)?.push({ op: op!.toUpperCase(), args: args! });
  }
  return stages;
}

/** The source paths of a shell-form COPY (flags and the destination left out). */
const copySources = (args: string) => args.split(/\s+/).filter((word) => !word.startsWith("--")).slice(0, -1);

/** A matcher for the .dockerignore syntax used here: `*`, `?`, `**`, a leading `!`; a matched folder drops all under it. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#")).map((line) => {
    const negate = line.startsWith("!");
    const glob = line.slice(negate ? 1 : 0).replace(/^\/+|\/+$/g, "");
    const source = glob.replace(/\*\*\/|\*\*|\*|\?|[.+^${}()|[\]\\]/g, (token) =>
      token === "**/" ? "(?:.*/)?" : token === "**" ? ".*" : token === "*" ? "[^/]*" : token === "?" ? "[^/]" : `\\${token}`,
    );
    return { negate, pattern: new RegExp(`^${source}$`) };
  });
  return (path) => {
    const parts = path.split("/");
    const selfAndParents = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const rule of rules) if (selfAndParents.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
    return ignored;
  };
}

/** The repo's files, relative to its root (installs, data and .git left out: the context excludes them as a whole). */
function repoFiles(dir = ""): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return ["node_modules", ".git", ".data"].includes(entry.name) ? [] : repoFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

/** Imports of the kept app and shared sources that point at a file the build context leaves out. */
function unresolvedImports(kept: string[]): string[] {
  const keptSet = new Set(kept);
  return kept.filter((path) => /^(apps|shared)\/.*\.tsx?$/.test(path)).flatMap((path) => {
    const source = readFileSync(join(repoRoot, path), "utf8");
    const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
    return specifiers.flatMap((spec) => {
      const target = spec.startsWith(".") ? posix.join(posix.dirname(path), spec) : spec.startsWith("@storefront/shared/") ? `shared/src/${spec.slice(19)}.ts` : null;
      return target === null || keptSet.has(target) ? [] : [`${path} imports ${spec}`];
    });
  });
}

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

  describe("the app image (compose/Dockerfile)", () => {
    const dockerfiles = [...new Set(APPS.map((a) => services[a.name]?.build?.dockerfile))];
    const dockerfilePath = dockerfiles[0] ?? "missing";
    const stages = dockerfileStages(readFileSync(join(repoRoot, dockerfilePath), "utf8"));
    const pinned = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { packageManager: string }).packageManager.replace("bun@", "");
    const install = stages.find((stage) => stage.some((i) => i.op === "RUN" && /\bbun install\b/.test(i.args))) ?? [];
    const final = stages.at(-1) ?? [];

    test("is one Dockerfile for every app, with the repo root as context, and every stage on the pinned Bun", () => {
      expect(dockerfiles).toEqual(["compose/Dockerfile"]);
      for (const app of APPS) expect(services[app.name]?.build?.context).toBe(".");
      expect(stages.length).toBeGreaterThanOrEqual(2);
      const names = new Set<string>();
      for (const stage of stages) {
        const [image, as, name] = stage[0]!.args.split(/\s+/);
        expect(names.has(image!) || new RegExp(`^oven/bun:${pinned.replaceAll(".", "\\.")}(-slim)?$`).test(image!)).toBe(true);
        if (as?.toUpperCase() === "AS") names.add(name!);
      }
    });

    test("installs production dependencies only, frozen to the lockfile, from the package files alone (the layer survives source edits)", () => {
      const run = install.find((i) => i.op === "RUN" && /\bbun install\b/.test(i.args))!;
      expect(run.args).toMatch(/--frozen-lockfile\b/);
      expect(run.args).toMatch(/--production\b/);
      const copiedBefore = install.slice(0, install.indexOf(run)).filter((i) => i.op === "COPY").flatMap((i) => copySources(i.args));
      const workspaces = ["shared/package.json", ...APPS.map((a) => `apps/${a.name}/package.json`)];
      expect(copiedBefore.filter((path) => !["package.json", "bun.lock", "bunfig.toml"].includes(path)).sort()).toEqual(workspaces.sort());
    });

    test("ends with a stage that copies only node_modules and the run-time sources, and runs as the non-root bun user", () => {
      const copied = final.filter((i) => i.op === "COPY").map((i) => ({ from: /--from=(\S+)/.exec(i.args)?.[1], paths: copySources(i.args) }));
      expect(copied.length).toBeGreaterThan(0);
      const allowed = ["node_modules", "apps", "shared", "package.json", "bunfig.toml", "tsconfig.json"];
      for (const { from, paths } of copied) {
        expect(from).toBeDefined(); // from the install/sources stages, never the whole build context
        for (const path of paths) expect(allowed).toContain(path.replace(/^\/app\//, ""));
      }
      expect(copied.flatMap((c) => c.paths.map((p) => p.replace(/^\/app\//, "")))).toContain("node_modules");
      expect(final.some((i) => i.op === "RUN")).toBe(false); // no install and no tools in the shipped layers
      const lastUser = final.findLast((i) => i.op === "USER");
      expect(lastUser?.args).toBe("bun");
      expect(final.findLastIndex((i) => i.op === "COPY")).toBeLessThan(final.indexOf(lastUser!));
      expect(final.find((i) => i.op === "STOPSIGNAL")?.args).toBe("SIGTERM");
      expect(final.some((i) => i.op === "CMD")).toBe(true);
    });

    describe("its build context (compose/Dockerfile.dockerignore)", () => {
      const ignorePath = `${dockerfilePath}.dockerignore`; // BuildKit reads <Dockerfile>.dockerignore before the root's
      const ignored = dockerignore(existsSync(join(repoRoot, ignorePath)) ? readFileSync(join(repoRoot, ignorePath), "utf8") : "");
      const kept = repoFiles().filter((path) => !ignored(path));

      test("leaves out host installs, data and secrets", () => {
        for (const path of ["node_modules/hono/package.json", "apps/web/node_modules/x", ".git/HEAD", ".data/users/PG_VERSION", ".env", ".env.local"]) {
          expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: true });
        }
      });

      test("leaves out every test, test kit, benchmark, tool and document", () => {
        const unwanted = /(\.test\.tsx?$|(^|\/)testing\/|^(tests|bench|docs|scripts|compose)\/|^apps\/bff\/src\/test-upstreams\.ts$|\.md$)/;
        expect(repoFiles().some((path) => unwanted.test(path))).toBe(true); // the check below has something to find
        expect(kept.filter((path) => unwanted.test(path))).toEqual([]);
      });

      test("keeps every app's entry point, migrations and package file, and whatever they import", () => {
        const needed = ["package.json", "bun.lock", "bunfig.toml", "tsconfig.json", "shared/package.json", ...APPS.flatMap((a) => [a.entry, `apps/${a.name}/package.json`])];
        const migrations = repoFiles().filter((path) => /\/db\/migrations\/[^/]+\.sql$/.test(path));
        expect(migrations.length).toBeGreaterThan(0);
        expect([...needed, ...migrations].filter((path) => !kept.includes(path))).toEqual([]);
        expect(unresolvedImports(kept)).toEqual([]);
      });
    });
  });

  for (const app of APPS) {
    describe(app.name, () => {
      const service = services[app.name] ?? {};
      const env = environmentOf(service);

      test("runs its entry point on its port, with a /ready healthcheck", () => {
        expect(text(service.command)).toBe(`bun ${app.entry}`);
        expect(existsSync(join(repoRoot, app.entry))).toBe(true);
        expect(env.PORT).toBe(String(app.defaultPort));
        if (PUBLISHERS.includes(app.name)) expect((service.ports ?? []).map(String)[0]).toEndWith(`:${app.defaultPort}`);
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
          // As compose resolves it with the .env that scripts/compose-env.ts writes: the password must survive the URL.
          const url = new URL(interpolate(env[`${upper(app)}_DATABASE_URL`] ?? "missing://", composeEnv));
          expect(url.protocol).toBe("postgres:");
          expect(url.hostname).toBe("postgres");
          expect(url.pathname).toBe(`/${app.name}`);
          const pg = environmentOf(services.postgres!);
          expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER ?? "postgres");
          expect(decodeURIComponent(url.password)).toBe(interpolate(pg.POSTGRES_PASSWORD ?? "", composeEnv));
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
    expect(published.sort()).toEqual(PUBLISHERS);
  });

  test("web and the BFF publish one host port per replica, from their own port up (a single fixed port would clash)", () => {
    for (const name of PUBLISHERS) {
      const port = APPS.find((a) => a.name === name)!.defaultPort;
      const replicas = services[name]?.deploy?.replicas ?? 1;
      expect({ name, ports: (services[name]?.ports ?? []).map(String) }).toEqual({ name, ports: [`${port}-${port + replicas - 1}:${port}`] });
    }
  });

  test("the services, Postgres and Redis are on the internal network only; web and the BFF also on the front one", () => {
    expect(compose.networks?.internal?.internal).toBe(true);
    expect(compose.networks?.front?.internal ?? false).toBe(false);
    for (const [name, service] of Object.entries(services)) {
      // notifications alone also has a way out (egress), for its optional webhook to an outside endpoint.
      const expected = PUBLISHERS.includes(name) ? ["front", "internal"] : name === "notifications" ? ["egress", "internal"] : ["internal"];
      expect({ name, networks: networksOf(service) }).toEqual({ name, networks: expected });
    }
    const egress = Object.entries(services).filter(([, service]) => networksOf(service).includes("egress")).map(([name]) => name);
    expect(egress).toEqual(["notifications"]);
  });

  test("every app runs at least two replicas, with no container_name (replicas cannot share one)", () => {
    for (const app of APPS) {
      const service = services[app.name] ?? {};
      expect({ app: app.name, replicas: service.deploy?.replicas ?? 1, containerName: service.container_name }).toEqual({
        app: app.name,
        replicas: expect.any(Number),
        containerName: undefined,
      });
      expect(service.deploy?.replicas).toBeGreaterThanOrEqual(2);
    }
  });

  test("every container has CPU and memory limits, above what it reserves", () => {
    for (const [name, service] of Object.entries(services)) {
      const { limits, reservations } = service.deploy?.resources ?? {};
      expect({ name, cpus: Number(limits?.cpus) > 0, memory: bytes(limits?.memory) > 0 }).toEqual({ name, cpus: true, memory: true });
      expect({ name, cpus: Number(reservations?.cpus) > 0, memory: bytes(reservations?.memory) > 0 }).toEqual({ name, cpus: true, memory: true });
      expect(Number(reservations!.cpus)).toBeLessThanOrEqual(Number(limits!.cpus));
      expect(bytes(reservations!.memory)).toBeLessThan(bytes(limits!.memory));
    }
  });

  test("Redis refuses writes before its container runs out of memory (maxmemory under the limit)", () => {
    const maxmemory = /--maxmemory\s+(\S+)/.exec(text(services.redis?.command))?.[1];
    expect(bytes(maxmemory)).toBeLessThan(bytes(services.redis?.deploy?.resources?.limits?.memory));
  });

  test("Postgres accepts the connection pools of every replica of every database service", () => {
    const pool = Number(/max: options\.max \?\? (\d+)/.exec(readFileSync(join(repoRoot, "shared/src/db/connect.ts"), "utf8"))?.[1]);
    expect(pool).toBeGreaterThan(0);
    const needed = APPS.filter((a) => a.hasDatabase).reduce((sum, a) => sum + (services[a.name]?.deploy?.replicas ?? 1) * pool, 0);
    const maxConnections = Number(/max_connections=(\d+)/.exec(text(services.postgres?.command))?.[1] ?? 100);
    expect(maxConnections).toBeGreaterThan(needed);
  });

  test("every secret is required from the environment (${NAME:?...}) and scripts/compose-env.ts writes each one", () => {
    const required = [...new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?[^}]+\}/g)].map((m) => m[1]!))].sort();
    expect(required).toEqual(["AUTH_PRIVATE_KEY", "NOTIFICATIONS_CLIENT_SECRET", "ORDERS_CLIENT_SECRET", "POSTGRES_PASSWORD"]);
    expect(Object.keys(composeEnv).sort()).toEqual(required);
    for (const name of required) expect(composeEnv[name]!.length).toBeGreaterThanOrEqual(32);
    // Anything named like a secret is either required or passed through from the shell, never written here.
    const secretLike = /(PASSWORD|SECRET|PRIVATE_KEY|DATABASE_URL)S?$/;
    for (const [service, definition] of Object.entries(services)) {
      for (const [name, value] of Object.entries(environmentOf(definition))) {
        if (!secretLike.test(name)) continue;
        const literal = value.replace(/\$\{[^}]*\}/g, "");
        const fromEnvironment = /\$\{[A-Z0-9_]+:\?[^}]+\}/.test(value) || value === `\${${name}:-}`;
        expect({ service, name, fromEnvironment, leaks: /(password|secret)[=:]?\w/i.test(literal) }).toEqual({ service, name, fromEnvironment: true, leaks: false });
      }
    }
  });

  test("keys and client secrets come from the environment, none is written here", () => {
    expect(composeText).not.toContain("BEGIN PRIVATE KEY");
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
