// Reading settings from the environment, with clear errors for bad values. Only index.ts files call these.
type Env = Record<string, string | undefined>;

export function intFromEnv(env: Env, name: string, fallback: number, { min = 0 } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

export function floatFromEnv(env: Env, name: string, fallback: number, { min = 0, max = Infinity } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number in [${min}, ${max}], got "${raw}"`);
  return value;
}

export function urlFromEnv(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, "");
  } catch {
    throw new Error(`${name} must be a URL, got "${raw}"`);
  }
}

/**
 * An upstream's address: one URL (a Kubernetes Service, compose's DNS name) or a comma-separated list of its
 * replicas, which the upstream client balances over (upstream/instances.ts). Each one must be a URL.
 */
export function upstreamFromEnv(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  const urls = raw.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (urls.length === 0) throw new Error(`${name} must be a URL or a comma-separated list of URLs, got "${raw}"`);
  return urls.map((url) => urlFromEnv({ [name]: url }, name, url)).join(",");
}
