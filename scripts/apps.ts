// The eleven apps of the storefront as `bun run dev` and the cross-service tests start them: default port, the
// variable that overrides it, the apps each one calls, and the environment each needs for a given set of ports.
export type AppName = "users" | "products" | "inventory" | "favorites" | "cart" | "notifications" | "payments" | "orders" | "delivery" | "bff" | "web";
export type AppSpec = {
  name: AppName;
  defaultPort: number;
  portEnv: string;
  entry: string;
  hasDatabase: boolean;
  /** The apps it calls, each reached through `<NAME>_URL`. */
  upstreams: readonly AppName[];
};

const app = (name: AppName, defaultPort: number, hasDatabase: boolean, upstreams: AppName[] = []): AppSpec => ({
  name,
  defaultPort,
  portEnv: `${name.toUpperCase()}_PORT`,
  entry: `apps/${name}/src/index.ts`,
  hasDatabase,
  upstreams,
});

// Every app asks users for the public keys that check access tokens (and the worker for its own token).
export const APPS: readonly AppSpec[] = [
  app("users", 8005, true),
  app("products", 8000, true, ["users"]),
  app("inventory", 8001, true, ["users"]),
  app("favorites", 8002, true, ["users"]),
  app("cart", 8003, true, ["users"]),
  // The worker asks favorites who to tell about a product, and cart whether a reminder is still due.
  app("notifications", 8004, true, ["favorites", "cart", "users"]),
  app("payments", 8007, true, ["users"]),
  // The saga reads the cart and its prices, reserves stock, charges, and clears the cart.
  app("orders", 8006, true, ["cart", "products", "inventory", "payments", "users"]),
  // Fed by the order events on its queue; calls nobody but users (for the keys).
  app("delivery", 8008, true, ["users"]),
  app("bff", 9000, false, ["products", "inventory", "favorites", "cart", "notifications", "orders", "delivery", "users"]),
  // The storefront pages: a client of the BFF like any other.
  app("web", 3000, false, ["bff"]),
];

export type Ports = Record<AppName, number>;

export const urlEnv = (name: AppName) => `${name.toUpperCase()}_URL`;

/** PORT for every app, and the addresses of the apps it calls, so it follows ports that were moved. */
export function appEnv(name: AppName, ports: Ports): Record<string, string> {
  const env: Record<string, string> = { PORT: String(ports[name]) };
  for (const upstream of APPS.find((a) => a.name === name)!.upstreams) env[urlEnv(upstream)] = `http://127.0.0.1:${ports[upstream]}`;
  return env;
}
