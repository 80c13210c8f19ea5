// Keeps compose.yaml true to the code without a Docker engine: every app is there, on its port, with every
// environment variable its source reads, databases and upstream URLs that point at the right services,
// healthchecks, and start order by health.
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
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  volumes?: (string | { source?: string; target?: string })[];
};

const compose = Bun.YAML.parse(readFileSync(join(repoRoot, "compose.yaml"), "utf8")) as { services: Record<string, Service> };
const services = compose.services;
const upper = (app: AppSpec) => app.name.toUpperCase();
const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(" ") : (value ?? ""));

/** `environment:` as a map, whichever of its two compose forms is used. */
function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((entry) => [entry.split("=")[0]!, entry.slice(entry.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// `env.NAME`, `env["NAME"]`, and helpers called as `xFromEnv(env, "NAME", ...)` / `fn(env, "NAME")`.
const ENV_READS = [/\benv\.([A-Z][A-Z0-9_]*)\b/g, /\benv\[\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*\]/g, /\(\s*env\s*,\s*["'`]([A-Z][A-Z0-9_]*)["'`]/g];

/** Every environment variable an app's (non-test) source reads. */
function envReadBy(app: AppSpec): string[] {
  const names = new Set<string>();
  for (const file of sourceFiles(join(repoRoot, "apps", app.name, "src"))) {
    const source = readFileSync(file, "utf8");
    for (const pattern of ENV_READS) for (const match of source.matchAll(pattern)) names.add(match[1]!);
  }
  return [...names].sort();
}

describe("compose.yaml", () => {
  test("has Postgres 16 and the five apps, and nothing else", () => {
    expect(Object.keys(services).sort()).toEqual(["postgres", ...APPS.map((a) => a.name)].sort());
    expect(services.postgres!.image).toMatch(/^postgres:16(\b|$)/);
    expect(text(services.postgres!.healthcheck?.test)).toContain("pg_isready");
  });

  test("the init script creates a database for every app that has one", () => {
    const mount = (services.postgres!.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`)).find((v) => v.includes("/docker-entrypoint-initdb.d/"));
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
        expect(service.ports ?? []).toContainEqual(`${app.defaultPort}:${app.defaultPort}`);
        expect(text(service.healthcheck?.test)).toContain(`http://127.0.0.1:${app.defaultPort}/ready`);
      });

      test("sets every environment variable its code reads", () => {
        const reads = envReadBy(app);
        expect(reads).toContain("PORT"); // proves the scan sees this app's reads at all
        // The data directory only matters for the embedded database; compose gives a real one instead.
        const needed = reads.filter((name) => !(name.endsWith("_DATA_DIR") && env[name.replace(/_DATA_DIR$/, "_DATABASE_URL")]));
        expect(needed.filter((name) => !(name in env))).toEqual([]);
      });

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
        test("reaches every upstream by service name and port, once they are healthy", () => {
          for (const upstream of APPS.filter((a) => a.hasDatabase)) {
            expect({ [`${upper(upstream)}_URL`]: env[`${upper(upstream)}_URL`] }).toEqual({ [`${upper(upstream)}_URL`]: `http://${upstream.name}:${upstream.defaultPort}` });
            expect(service.depends_on).toMatchObject({ [upstream.name]: { condition: "service_healthy" } });
          }
        });
      }
    });
  }
});
