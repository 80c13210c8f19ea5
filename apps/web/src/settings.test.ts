// The settings index.ts reads: the rule for Secure cookies, and the defaults.
import { describe, expect, test } from "bun:test";
import { developmentFromEnv, secureCookiesFromEnv, webSettings } from "./settings.ts";

describe("Secure cookies", () => {
  test("follow NODE_ENV when WEB_SECURE_COOKIES is not set: Secure only in production", () => {
    expect(secureCookiesFromEnv({})).toBe(false);
    expect(secureCookiesFromEnv({ NODE_ENV: "development" })).toBe(false);
    expect(secureCookiesFromEnv({ NODE_ENV: "test" })).toBe(false);
    expect(secureCookiesFromEnv({ NODE_ENV: "production" })).toBe(true);
  });

  test("WEB_SECURE_COOKIES decides when set, either way", () => {
    expect(secureCookiesFromEnv({ WEB_SECURE_COOKIES: "true" })).toBe(true);
    expect(secureCookiesFromEnv({ WEB_SECURE_COOKIES: "1" })).toBe(true);
    expect(secureCookiesFromEnv({ WEB_SECURE_COOKIES: "false", NODE_ENV: "production" })).toBe(false);
    expect(secureCookiesFromEnv({ WEB_SECURE_COOKIES: "0", NODE_ENV: "production" })).toBe(false);
    expect(secureCookiesFromEnv({ WEB_SECURE_COOKIES: "", NODE_ENV: "production" })).toBe(true);
  });

  test("anything else is an error naming the variable", () => {
    expect(() => secureCookiesFromEnv({ WEB_SECURE_COOKIES: "yes" })).toThrow("WEB_SECURE_COOKIES");
  });
});

test("defaults: port 3000, the BFF on 127.0.0.1:9000", () => {
  expect(webSettings({})).toEqual({ port: 3000, bffUrl: "http://127.0.0.1:9000", secureCookies: false, development: true });
  expect(webSettings({ PORT: "3100", BFF_URL: "http://bff:9000/" })).toEqual({ port: 3100, bffUrl: "http://bff:9000", secureCookies: false, development: true });
  expect(() => webSettings({ BFF_URL: "not a url" })).toThrow("BFF_URL");
});

test("a development run: NODE_ENV is not production and the cookies are not Secure (both)", () => {
  expect(developmentFromEnv({})).toBe(true);
  expect(developmentFromEnv({ NODE_ENV: "development" })).toBe(true);
  expect(developmentFromEnv({ NODE_ENV: "production" })).toBe(false);
  expect(developmentFromEnv({ NODE_ENV: "production", WEB_SECURE_COOKIES: "false" })).toBe(false);
  expect(developmentFromEnv({ WEB_SECURE_COOKIES: "true" })).toBe(false);
});
