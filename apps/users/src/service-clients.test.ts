import { describe, expect, test } from "bun:test";
import { parseServiceClients, serviceClientCheck } from "./service-clients.ts";

describe("parseServiceClients", () => {
  test("client_id=secret pairs, comma-separated, spaces around them ignored; '=' allowed in a secret", () => {
    expect(parseServiceClients(" notifications=abc , orders=x=y,")).toEqual(
      new Map([
        ["notifications", "abc"],
        ["orders", "x=y"],
      ]),
    );
  });

  test("unset or empty: no clients", () => {
    expect(parseServiceClients(undefined).size).toBe(0);
    expect(parseServiceClients("").size).toBe(0);
  });

  test("an entry without a secret, a bad id or a repeated id is an error naming the setting", () => {
    for (const raw of ["notifications", "notifications=", "=secret", "bad id=secret", "a=1,a=2"]) {
      expect(() => parseServiceClients(raw)).toThrow(/^SERVICE_CLIENT_SECRETS: /);
    }
  });
});

describe("serviceClientCheck", () => {
  const check = serviceClientCheck(new Map([["worker", "s3cret"]]));

  test("only the exact secret of that client", () => {
    expect(check("worker", "s3cret")).toBe(true);
    expect(check("worker", "s3cret ")).toBe(false);
    expect(check("worker", "")).toBe(false);
    expect(check("other", "s3cret")).toBe(false);
  });
});
