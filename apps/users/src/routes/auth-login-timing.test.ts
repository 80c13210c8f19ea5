// The unknown-email path must cost about what a wrong password costs, or response times list the accounts.
// Runs at the default password cost (that of the seeded hashes), where the hash dominates a login's time, so
// skipping the dummy verification would make unknown emails many times faster. The bounds are a wide factor
// of medians of interleaved tries, so a busy machine slows both sides alike and cannot make this flaky.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUsersTestApp, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_login_timing", password: { memoryCost: 19_456, timeCost: 2 } });
});
afterAll(() => t.drop());

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function timed(attempt: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const { status } = await attempt();
  expect(status).toBe(401);
  return performance.now() - started;
}

test("an unknown email takes about as long as a wrong password (medians within a factor of 3)", async () => {
  const unknown = () => t.login("nobody@storefront.test", "storefront-demo");
  const wrong = () => t.login("user2@storefront.test", "not-the-password");
  await unknown(); // warm up both paths (the dummy hash, the connection pool)
  await wrong();
  const unknownMs: number[] = [];
  const wrongMs: number[] = [];
  for (let i = 0; i < 8; i++) {
    // Alternating which goes first spreads any drift in the machine's load evenly over both.
    if (i % 2 === 0) {
      unknownMs.push(await timed(unknown));
      wrongMs.push(await timed(wrong));
    } else {
      wrongMs.push(await timed(wrong));
      unknownMs.push(await timed(unknown));
    }
  }
  const ratio = median(unknownMs) / median(wrongMs);
  expect(ratio).toBeGreaterThan(0.33);
  expect(ratio).toBeLessThan(3);
});
