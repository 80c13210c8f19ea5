// /auth: register, log in, refresh and log out, forwarded to the users service. The BFF states the public
// contract (these schemas); users enforces it again and owns the outcome (EMAIL_TAKEN, INVALID_CREDENTIALS).
import { createRoute, z } from "@hono/zod-openapi";
import { requireIdentity } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";

export const MIN_PASSWORD_CHARS = 10;
export const MAX_PASSWORD_CHARS = 256;

const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email())
  .openapi({ format: "email", description: "Compared without case and surrounding spaces.", example: "user1@storefront.test" });
export const registerBody = z.strictObject({
  email,
  password: z
    .string()
    .min(MIN_PASSWORD_CHARS, `must be at least ${MIN_PASSWORD_CHARS} characters`)
    .max(MAX_PASSWORD_CHARS)
    .openapi({ example: "storefront-demo" }),
  name: z.string().trim().min(1).max(100).openapi({ example: "Ada" }),
});
// Any password string: a short one is simply wrong, not malformed (and says nothing about the rules).
export const loginBody = z.strictObject({ email, password: z.string().min(1).max(MAX_PASSWORD_CHARS).openapi({ example: "storefront-demo" }) });
export const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512).openapi({ description: "From the last login or refresh; each works once." }) });

const userId = z.number().int().positive();
export const RegisteredUser = z.strictObject({ user_id: userId, email: z.email(), name: z.string() }).openapi("RegisteredUser");
export const TokenPair = z
  .strictObject({
    access_token: z.string().openapi({ description: "A JWT: send it as `Authorization: Bearer <access_token>`." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().positive().openapi({ description: "Seconds the access token is valid for." }),
    refresh_token: z.string().openapi({ description: "Trades for the next pair at POST /auth/refresh, once." }),
  })
  .openapi("TokenPair");

// forward() passes on the body, not users' headers; answers carrying tokens must not be cached (RFC 6749, 5.1).
const NO_STORE = "no-store";
const noStore = { "Cache-Control": { description: "`no-store`: the body holds tokens.", schema: { type: "string" as const } } };

const tags = ["auth"];
// Register, login and refresh do not look at the Authorization header (app.ts: anonymousPaths), so a client
// still sending its expired access token can get a new one; their only 401 is about the body's credential.
const ANONYMOUS = "The Authorization header is not looked at: a client may still send its expired access token.";
const invalidCredentials = (why: string) => ({ description: `INVALID_CREDENTIALS: ${why} (no WWW-Authenticate: the credential was in the body).` });

const register = createRoute({
  method: "post",
  path: "/register",
  tags,
  summary: "Create a customer account",
  description: `Does not log in: POST /auth/login next. ${ANONYMOUS}`,
  request: { body: jsonBody(registerBody) },
  responses: {
    201: jsonResponse("The new account.", RegisteredUser),
    ...errorResponses([400, 409, 413, 415], { 409: "EMAIL_TAKEN: an account with this email exists." }),
  },
});

const login = createRoute({
  method: "post",
  path: "/login",
  tags,
  summary: "Log in: an access token and a refresh token",
  description: ANONYMOUS,
  request: { body: jsonBody(loginBody) },
  responses: {
    200: { ...jsonResponse("Logged in.", TokenPair), headers: noStore },
    ...errorResponses([400, 401, 413, 415], { 401: invalidCredentials("wrong email or password") }),
  },
});

const refresh = createRoute({
  method: "post",
  path: "/refresh",
  tags,
  summary: "Trade a refresh token for a new pair",
  description: `Each refresh token works once; presenting a used one again ends every session it descends from. ${ANONYMOUS}`,
  request: { body: jsonBody(refreshBody) },
  responses: {
    200: { ...jsonResponse("The next pair; the refresh token sent is used up.", TokenPair), headers: noStore },
    ...errorResponses([400, 401, 413, 415], { 401: invalidCredentials("the refresh token is unknown, expired, used or revoked") }),
  },
});

const logout = createRoute({
  method: "post",
  path: "/logout",
  tags,
  summary: "Log out everywhere",
  description: "Every refresh token of the caller stops working; access tokens run out on their own.",
  security: needsToken,
  responses: {
    204: { description: "Logged out." },
    ...errorResponses([401, 403, 413], { 403: "FORBIDDEN: a service token has no session to end." }),
  },
});

export const authRoutes = (users: UpstreamClient, deadlineMs: number) =>
  openApiRouter<{ Variables: AuthVariables }>()
    .openapi(register, (c) => passedOn(forward(c, users, deadlineMs, "POST", "/auth/register", c.req.valid("json"))))
    .openapi(login, (c) => {
      c.header("cache-control", NO_STORE);
      return passedOn(forward(c, users, deadlineMs, "POST", "/auth/login", c.req.valid("json")));
    })
    .openapi(refresh, (c) => {
      c.header("cache-control", NO_STORE);
      return passedOn(forward(c, users, deadlineMs, "POST", "/auth/refresh", c.req.valid("json")));
    })
    .openapi({ ...logout, middleware: [requireIdentity()] }, (c) => passedOn(forward(c, users, deadlineMs, "POST", "/auth/logout")));
