import { describe, expect, test } from "bun:test";
import { upstreamFromEnv } from "./config.ts";

describe("upstreamFromEnv", () => {
  test("one URL is kept, without its trailing slash; unset falls back", () => {
    expect(upstreamFromEnv({ CART_URL: "http://cart:8003/" }, "CART_URL", "http://x")).toBe("http://cart:8003");
    expect(upstreamFromEnv({}, "CART_URL", "http://127.0.0.1:8003")).toBe("http://127.0.0.1:8003");
  });

  test("a comma-separated list of replicas is kept as a list, spaces trimmed", () => {
    expect(upstreamFromEnv({ CART_URL: "http://127.0.0.1:8003, http://127.0.0.1:18003/" }, "CART_URL", "http://x")).toBe(
      "http://127.0.0.1:8003,http://127.0.0.1:18003",
    );
  });

  test("an entry that is not a URL is named in the error", () => {
    expect(() => upstreamFromEnv({ CART_URL: "http://a:1,not a url" }, "CART_URL", "http://x")).toThrow('CART_URL must be a URL, got "not a url"');
    expect(() => upstreamFromEnv({ CART_URL: " , " }, "CART_URL", "http://x")).toThrow("CART_URL must be a URL or a comma-separated list");
  });
});
