// Accounts for the cross-service tests, through the BFF as a client would: the seeded demo users, new ones
// registered per test, and their tokens.
import { expect } from "bun:test";
import { documentedFetch } from "./contract.ts";

export const DEMO_PASSWORD = "storefront-demo";
export const demoEmail = (n: number) => `user${n}@storefront.test`;
export const ADMIN_EMAIL = "admin@storefront.test";

export type Session = { userId: number; email: string; token: string; refreshToken: string; auth: { authorization: string } };

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  documentedFetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** The payload of a token we were given, read without checking it (the apps check it). */
const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sub: string; role: string };

export async function login(base: string, email: string, password = DEMO_PASSWORD): Promise<Session> {
  const res = await post(base, "/auth/login", { email, password });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; refresh_token: string; token_type: string };
  expect(body.token_type).toBe("Bearer");
  return {
    userId: Number(claims(body.access_token).sub),
    email,
    token: body.access_token,
    refreshToken: body.refresh_token,
    auth: { authorization: `Bearer ${body.access_token}` },
  };
}

let registered = 0;

/** A new customer with an address of its own, logged in. */
export async function newCustomer(base: string, label: string): Promise<Session> {
  const email = `${label}-${process.pid}-${Date.now().toString(36)}-${registered++}@example.test`;
  const password = "correct horse battery";
  const res = await post(base, "/auth/register", { email, password, name: label });
  expect(res.status).toBe(201);
  return login(base, email, password);
}
