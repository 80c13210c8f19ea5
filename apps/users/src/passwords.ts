// Password hashing: argon2id at the configured cost. A login for an unknown email still verifies a password,
// against a dummy hash of the same cost made at start, so its answer takes about as long as a wrong
// password's and the timing does not tell which emails have accounts.
import { randomBytes } from "node:crypto";

export type PasswordCost = { memoryCost: number; timeCost: number };

export type Passwords = {
  hash(password: string): Promise<string>;
  /** False without a stored hash (no such account), after the same work as a real check. */
  verify(password: string, storedHash: string | null): Promise<boolean>;
  /** The stored hash was made with another algorithm or cost: rehash it on the next successful login. */
  needsRehash(storedHash: string): boolean;
};

const ARGON2ID_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=\d+\$/;

export function createPasswords(cost: PasswordCost): Passwords {
  const options = { algorithm: "argon2id", memoryCost: cost.memoryCost, timeCost: cost.timeCost } as const;
  // Started now (Bun hashes off the main thread) so the first unknown email is not the slow one.
  const dummyHash = Bun.password.hash(randomBytes(16).toString("hex"), options);
  dummyHash.catch(() => {}); // a bad cost surfaces on the first login that awaits it, not as an unhandled rejection
  return {
    hash: (password) => Bun.password.hash(password, options),
    async verify(password, storedHash) {
      if (storedHash === null) {
        await Bun.password.verify(password, await dummyHash);
        return false;
      }
      return Bun.password.verify(password, storedHash);
    },
    needsRehash(storedHash) {
      const params = ARGON2ID_PARAMS.exec(storedHash);
      return !params || Number(params[1]) !== cost.memoryCost || Number(params[2]) !== cost.timeCost;
    },
  };
}
