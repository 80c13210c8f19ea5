// The five apps of the storefront as `bun run dev` and the cross-service tests start them:
// default port, the variable that overrides it, and the environment each needs for a given set of ports.
export type AppName = "products" | "inventory" | "favorites" | "cart" | "bff";
export type AppSpec = { name: AppName; defaultPort: number; portEnv: string; entry: string; hasDatabase: boolean };

const app = (name: AppName, defaultPort: number, hasDatabase: boolean): AppSpec => ({
  name,
  defaultPort,
  portEnv: `${name.toUpperCase()}_PORT`,
  entry: `apps/${name}/src/index.ts`,
  hasDatabase,
});

export const APPS: readonly AppSpec[] = [
  app("products", 8000, true),
  app("inventory", 8001, true),
  app("favorites", 8002, true),
  app("cart", 8003, true),
  app("bff", 9000, false),
];

export type Ports = Record<AppName, number>;

/** PORT for every app; the BFF also gets its upstreams' addresses, so it follows ports that were moved. */
export function appEnv(name: AppName, ports: Ports): Record<string, string> {
  const env: Record<string, string> = { PORT: String(ports[name]) };
  if (name === "bff") {
    for (const upstream of APPS) {
      if (upstream.hasDatabase) env[`${upstream.name.toUpperCase()}_URL`] = `http://127.0.0.1:${ports[upstream.name]}`;
    }
  }
  return env;
}
