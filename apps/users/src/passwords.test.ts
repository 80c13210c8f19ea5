import { describe, expect, test } from "bun:test";
import { createPasswords } from "./passwords.ts";

const passwords = createPasswords({ memoryCost: 1024, timeCost: 1 });

describe("createPasswords", () => {
  test("hashes with argon2id at the configured cost and verifies", async () => {
    const hash = await passwords.hash("correct horse");
    expect(hash).toStartWith("$argon2id$v=19$m=1024,t=1,");
    expect(await passwords.verify("correct horse", hash)).toBe(true);
    expect(await passwords.verify("wrong horse", hash)).toBe(false);
  });

  test("without a stored hash (unknown account) the answer is false, whatever the password", async () => {
    expect(await passwords.verify("correct horse", null)).toBe(false);
  });

  test("needsRehash: another memory or time cost, or another algorithm; not the configured cost", async () => {
    expect(passwords.needsRehash(await passwords.hash("x"))).toBe(false);
    expect(passwords.needsRehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")).toBe(true);
    expect(passwords.needsRehash("$argon2id$v=19$m=1024,t=3,p=1$c2FsdA$aGFzaA")).toBe(true);
    expect(passwords.needsRehash(await Bun.password.hash("x", { algorithm: "bcrypt", cost: 4 }))).toBe(true);
  });
});
