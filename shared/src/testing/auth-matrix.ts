// Who-may-call-what tests for a service's routes: refused callers get 403 or 401 and change nothing, allowed ones get through.
import { describe, expect, test } from "bun:test";
import type { Role } from "../auth/identity.ts";
import type { TestIssuer } from "./token-issuer.ts";

type Headers = Record<string, string>;

/** Someone with a token; `name` ("a courier's token") names them in test names and failure messages. */
type Caller = { name: string; sub: string | number; role: Role };

export type AuthRoute = {
  /** Method and path pattern, e.g. "PUT /users/:id/cart/:product_id". */
  name: string;
  method: string;
  /** Called at test time, so it may use what beforeAll made. */
  path: () => string;
  /** A body that changes something when let through, so a refusal that let it through would show. */
  body?: unknown;
  /** Inputs an allowed caller would get a 400 for, each replacing the path or the body: a refused caller still gets 403. */
  invalid?: { path?: () => string; body?: unknown }[];
  /** The statuses an allowed caller gets; leave out when the test file checks allowed calls itself. */
  ok?: number[];
  /** For a read: what the first allowed caller must get (compared with toEqual, so matchers work); the others must get the same. */
  answer?: () => unknown;
};

export type AppUnderTest = {
  /** The app's request function; called at test time, so the app may be made in beforeAll. */
  request: (path: string, init?: RequestInit) => Response | Promise<Response>;
  /** Signs the tokens the app trusts. */
  issuer: TestIssuer;
  /** Signs with a key the app does not trust: tokens from somewhere else. */
  stranger: TestIssuer;
  /** Everything a refused request must leave as it was. */
  snapshot: () => Promise<unknown>;
  /** The service's outbox, emptied before each test: a refused request writes no event to it and never wakes its relay. */
  outbox?: { events: () => Promise<unknown[]>; wakes: () => number };
};

/** /users/:id/... routes (the path's user is `victim`): only that user, admins and services get through. */
export function describeUserScopedRoutes(app: AppUnderTest, s: { routes: AuthRoute[]; attacker: number; victim: number; secret: string }) {
  describeAuthMatrix(app, s.routes, {
    who: "the path's user, admins and services",
    forbidden: [
      { name: "another customer's token", sub: s.attacker, role: "customer" },
      { name: "a courier's token", sub: s.attacker, role: "courier" },
    ],
    allowed: [
      { name: "the customer's own token", sub: s.victim, role: "customer" },
      { name: "an admin's token", sub: 99, role: "admin" },
      { name: "a service's token", sub: "notifications", role: "service" },
    ],
    secret: s.secret,
  });
}

/** Routes for admins only: customers, couriers and services are refused. */
export function describeAdminOnlyRoutes(app: AppUnderTest, routes: AuthRoute[]) {
  describeAuthMatrix(app, routes, {
    who: "admins only",
    forbidden: [
      { name: "a customer's token", sub: 7, role: "customer" },
      { name: "a courier's token", sub: 8, role: "courier" },
      { name: "a service's token", sub: "notifications", role: "service" },
    ],
    allowed: [{ name: "an admin's token", sub: 1, role: "admin" }],
  });
}

/** `secret`: text only the path user's data contains, which no refusal may include. */
function describeAuthMatrix(app: AppUnderTest, routes: AuthRoute[], m: { who: string; forbidden: Caller[]; allowed: Caller[]; secret?: string }) {
  const auth = (caller: Caller) => app.issuer.auth(caller.sub, caller.role);

  for (const route of routes) {
    describe(`${route.name} is for ${m.who}`, () => {
      for (const caller of m.forbidden) {
        test(`${caller.name}: 403 FORBIDDEN, nothing read or changed`, async () => {
          await expectForbidden(app, route, caller.name, await auth(caller), m.secret);
        });
      }

      const invalid = route.invalid ?? [];
      const attacker = m.forbidden[0]!;
      if (invalid.length > 0) {
        test(`${attacker.name} with invalid input: still 403, not a validation message`, async () => {
          for (const input of invalid) {
            const who = `${attacker.name} with ${input.path ? input.path() : JSON.stringify(input.body)}`;
            await expectForbidden(app, { ...route, ...input }, who, await auth(attacker), m.secret);
          }
        });
      }

      test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
        await expectUnauthenticated(app, route, "no token", {});
      });

      test("a token from another issuer, even an allowed caller's: 401 with a Bearer challenge, nothing changed", async () => {
        for (const caller of m.allowed) {
          await expectUnauthenticated(app, route, `${caller.name} from another issuer`, await app.stranger.auth(caller.sub, caller.role));
        }
      });

      test("an allowed caller's token once expired, or a header that is not a Bearer token: 401 with a Bearer challenge, nothing changed", async () => {
        const headers: [string, string][] = [];
        for (const caller of m.allowed) headers.push([`${caller.name}, expired`, `Bearer ${await app.issuer.token(caller.sub, caller.role, -60)}`]);
        headers.push(["a Basic header", `Basic ${btoa("admin:admin")}`], ["a Bearer header that is not a JWT", "Bearer not-a-jwt"]);
        for (const [who, authorization] of headers) await expectUnauthenticated(app, route, who, { authorization });
      });

      const ok = route.ok;
      if (ok) {
        for (const caller of m.allowed) {
          test(`${caller.name}: allowed`, async () => {
            expect((await send(app, route, await auth(caller))).status, caller.name).toBeOneOf(ok);
          });
        }
      }

      const answer = route.answer;
      if (answer) {
        test("what an allowed caller gets is the path's user's data, whoever asks", async () => {
          const [first, ...others] = m.allowed;
          const expected = (await send(app, route, await auth(first!))).body;
          expect(expected, first!.name).toEqual(await answer());
          for (const caller of others) expect((await send(app, route, await auth(caller))).body, caller.name).toEqual(expected);
        });
      }
    });
  }
}

/** Reads anyone may make, with or without a token; a token that does not verify is still refused. */
export function describePublicReads(app: Pick<AppUnderTest, "request" | "issuer" | "stranger">, title: string, paths: string[]) {
  describe(title, () => {
    test(`${paths.join(" and ")} answer without a token`, async () => {
      for (const path of paths) expect((await app.request(path)).status, path).toBe(200);
    });

    for (const role of ["customer", "courier", "service", "admin"] as Role[]) {
      test(`they answer with a ${role}'s token too`, async () => {
        const headers = await app.issuer.auth(role === "service" ? "bff" : 5, role);
        for (const path of paths) expect((await app.request(path, { headers })).status, path).toBe(200);
      });
    }

    test("a token that does not verify is a 401 even on a public read: its holder should learn it", async () => {
      for (const path of paths) {
        const res = await app.request(path, { headers: await app.stranger.auth(5) });
        expect(res.status, path).toBe(401);
        expect(res.headers.get("www-authenticate"), path).toStartWith("Bearer");
        expect(((await res.json()) as any).error.code, path).toBe("UNAUTHENTICATED");
      }
    });
  });
}

/** Sends `route` (its path, its body as JSON) with `headers`; the body comes back parsed. */
export async function send(app: AppUnderTest, route: AuthRoute, headers: Headers) {
  const init: RequestInit = { method: route.method, headers };
  if (route.body !== undefined) {
    init.headers = { ...headers, "content-type": "application/json" };
    init.body = JSON.stringify(route.body);
  }
  const res = await app.request(route.path(), init);
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: text ? (JSON.parse(text) as any) : null };
}

/** Sends `route` as `who` and checks that nothing changed: the snapshot, the outbox, the relay. */
async function sendChangingNothing(app: AppUnderTest, route: AuthRoute, who: string, headers: Headers) {
  const before = await app.snapshot();
  const res = await send(app, route, headers);
  expect(await app.snapshot(), `${who} changed something`).toEqual(before);
  if (app.outbox) {
    expect(await app.outbox.events(), `${who} wrote an event`).toEqual([]);
    expect(app.outbox.wakes(), `${who} woke the relay`).toBe(0);
  }
  return res;
}

async function expectForbidden(app: AppUnderTest, route: AuthRoute, who: string, headers: Headers, secret?: string) {
  const res = await sendChangingNothing(app, route, who, headers);
  expect(res.status, who).toBe(403);
  expect(res.body?.error?.code, who).toBe("FORBIDDEN");
  if (secret !== undefined) expect(JSON.stringify(res.body), who).not.toContain(secret);
}

async function expectUnauthenticated(app: AppUnderTest, route: AuthRoute, who: string, headers: Headers) {
  const res = await sendChangingNothing(app, route, who, headers);
  expect(res.status, who).toBe(401);
  expect(res.body?.error?.code, who).toBe("UNAUTHENTICATED");
  expect(res.challenge, who).toStartWith("Bearer");
}
