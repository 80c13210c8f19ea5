// Which environment variables each app's source reads, found by scanning it: the one list that compose.yaml and
// the Kubernetes manifests are both checked against, so a new setting cannot be forgotten in one of them.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AppSpec } from "../../scripts/apps.ts";
import { repoRoot } from "./processes.ts";

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

/** The text of every (non-test) source file of an app. */
export const appSource = (app: AppSpec) => sourceFiles(join(repoRoot, "apps", app.name, "src")).map((file) => readFileSync(file, "utf8"));

/** Every environment variable an app's (non-test) source reads. */
export function envReadBy(app: AppSpec): string[] {
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
