// The BFF's public contract: the OpenAPI 3.1 document of its routes (served at /openapi.json), and, from the
// same route definitions, the zod schema of each documented answer, so tests can hold real answers to what
// the document promises: responseSchema("GET", "/cart", 200), or responseProblem(...) for a readable verdict.
import { z } from "@hono/zod-openapi";
import { createUpstreamClient } from "@storefront/shared/upstream/client";
import { Histogram } from "@storefront/shared/observability/metrics";
import { createProductsCache } from "./products-cache.ts";
import { apiRoutes, type Api } from "./routes/api.ts";

export const API_VERSION = "1.0.0";

const DESCRIPTION = `The storefront's single entry point for clients: the product listing, the caller's cart, favorites,
orders and notifications, checkout, accounts, what admins change, and deliveries (managers and couriers).

**Getting a token.** \`POST /auth/login\` with an email and a password answers an \`access_token\` (a JWT, valid for
\`expires_in\` seconds) and a \`refresh_token\`. Send the access token as \`Authorization: Bearer <access_token>\`
(on this page: Authentication, bearerAuth). Trade the refresh token for a new pair at \`POST /auth/refresh\`;
each refresh token works once. \`POST /auth/register\` makes a new customer account.

**Demo accounts**, seeded by the users service, all with the password \`storefront-demo\`:
\`user1@storefront.test\` to \`user5@storefront.test\` are customers with carts and favorites;
\`admin@storefront.test\` is an admin (the \`/admin\` routes); \`courier1@storefront.test\` and
\`courier2@storefront.test\` are couriers (the \`/courier\` routes).

**Errors** are always \`{"error": {"code": "...", "message": "..."}}\`: branch on \`code\`, show \`message\`. A malformed
or expired token is a 401 UNAUTHENTICATED on every route that looks at it, the listing included (it also serves
anonymous callers); register, login and refresh do not look at it. Every answer carries \`x-request-id\`;
rate-limited routes carry \`RateLimit\` and \`RateLimit-Policy\`.

**Checkout** needs an \`Idempotency-Key\` header (1-255 visible ASCII characters, e.g. a UUID) naming the attempt: after
a 504 or a dropped connection, send the same request with the same key and the first outcome comes back (with
\`Idempotent-Replayed: true\`) rather than a second order.`;

const TAGS = [
  { name: "products", description: "The listing: products, their stock, and the caller's cart and favorites counts." },
  { name: "cart", description: "The caller's cart." },
  { name: "favorites", description: "The caller's favorite products." },
  { name: "orders", description: "Checking out the cart, and the caller's orders: reading and cancelling them." },
  { name: "notifications", description: "The caller's in-app inbox: back in stock, price dropped." },
  { name: "auth", description: "Accounts, logging in and out, and the caller's own account." },
  { name: "admin", description: "Stock and products: admins only." },
  { name: "deliveries", description: "Managing deliveries: reading them and assigning couriers. Admins only." },
  { name: "courier", description: "A courier's own deliveries: reading them and marking them delivered. Couriers only." },
];

export function openApiDocument(api: Api) {
  return api.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "Storefront API", version: API_VERSION, description: DESCRIPTION },
    tags: TAGS,
  });
}

/** What a documented answer without a body (204) may be once read: nothing (null, undefined or ""). */
export const NO_CONTENT = z.union([z.null(), z.undefined(), z.literal("")]);

type Operation = { method: string; template: string; pattern: RegExp; responses: Map<number, z.ZodType> };

const toTemplate = (path: string) => path.replace(/\/:([^/]+)/g, "/{$1}");
const patternOf = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^/}]+\}/g, "[^/]+")}$`);

/**
 * The public routes, described. They are built once, on upstreams that are never called: describing needs
 * the route definitions, not a running BFF, so an end-to-end test can use this against real processes.
 */
let operations: Operation[] | undefined;
function describedOperations(): Operation[] {
  if (operations) return operations;
  const refuse = () => Promise.reject(new Error("an upstream of the described API was called"));
  const client = (name: string) => createUpstreamClient(name, `http://${name}.invalid`, { fetch: refuse, retry: null });
  const upstreams = {
    products: client("products"),
    inventory: client("inventory"),
    cart: client("cart"),
    favorites: client("favorites"),
    notifications: client("notifications"),
    users: client("users"),
    orders: client("orders"),
    delivery: client("delivery"),
  };
  const catalogue = createProductsCache({ products: upstreams.products, ttlMs: 0, swrMs: 0, staleMaxMs: 0, refreshDeadlineMs: 1 });
  const status = {
    inventoryAdmin: client("inventory"),
    sources: { upstreams: Object.values(upstreams), duration: new Histogram("described", "never observed"), outboxServices: {}, fetch: refuse, deadlineMs: 1 },
  };
  const api = apiRoutes({ upstreams, catalogue, deadlines: { productsMs: 1, inventoryMs: 1, writeMs: 1, checkoutMs: 1 }, status });
  operations = [];
  for (const def of api.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const responses = new Map<number, z.ZodType>();
    for (const [status, response] of Object.entries(def.route.responses)) {
      if ("$ref" in response) continue; // none of ours is a reference
      const media = response.content?.["application/json"];
      const schema = media && !("$ref" in media) ? media.schema : undefined;
      if (schema instanceof z.ZodType) responses.set(Number(status), schema);
      else if (!response.content) responses.set(Number(status), NO_CONTENT);
    }
    const template = toTemplate(def.route.path);
    operations.push({ method: def.route.method.toUpperCase(), template, pattern: patternOf(template), responses });
  }
  return operations;
}

/**
 * The documented schema of the answer to `method` `path` with `status`: for JSON, the body's schema; for a
 * status documented without a body (204), NO_CONTENT; undefined when the document does not have that
 * operation or status. `path` is a template (`/cart/{product_id}`, or Hono's `/cart/:product_id`) or a
 * concrete path (`/cart/4`, a query string ignored).
 */
export function responseSchema(method: string, path: string, status: number): z.ZodType | undefined {
  const m = method.toUpperCase();
  const template = toTemplate(path.split("?")[0]!);
  const ops = describedOperations().filter((op) => op.method === m);
  const op = ops.find((o) => o.template === template) ?? ops.find((o) => o.pattern.test(template));
  return op?.responses.get(status);
}

/** Why `body` is not a documented answer to `method` `path` with `status`; undefined when it is. */
export function responseProblem(method: string, path: string, status: number, body: unknown): string | undefined {
  const schema = responseSchema(method, path, status);
  if (!schema) return `${method.toUpperCase()} ${path} is not documented to answer ${status}`;
  const result = schema.safeParse(body);
  if (result.success) return undefined;
  return `${method.toUpperCase()} ${path} ${status}: the body does not match the document: ${z.prettifyError(result.error)}`;
}
