// Query functions for refresh_token; each takes `sql` first. Times come from the caller's clock (not the
// database's now()) so expiry is testable with an injected clock.
import type { Sql, TransactionSql } from "postgres";
import type { UserRole } from "./users.ts";

export type NewRefreshToken = { familyId: string; userId: number; tokenHash: Buffer; createdAt: Date; expiresAt: Date };
export type UsedRefreshToken = { family_id: string; user_id: number; role: UserRole };
export type RefreshTokenState = { family_id: string; used: boolean; revoked: boolean };

export async function insertRefreshToken(sql: Sql | TransactionSql, token: NewRefreshToken): Promise<void> {
  await sql`
    insert into refresh_token (family_id, user_id, token_hash, created_at, expires_at)
    values (${token.familyId}, ${token.userId}, ${token.tokenHash}, ${token.createdAt}, ${token.expiresAt})`;
}

/**
 * Marks a live token used and returns its family and its user's current role; null when it is unknown, used,
 * revoked or expired. One conditional statement: of two concurrent uses the row lock lets exactly one match.
 */
export async function useRefreshToken(sql: Sql | TransactionSql, tokenHash: Buffer, at: Date): Promise<UsedRefreshToken | null> {
  const [row] = await sql<UsedRefreshToken[]>`
    update refresh_token t set used_at = ${at}
    from app_user u
    where t.token_hash = ${tokenHash} and u.id = t.user_id
      and t.used_at is null and t.revoked_at is null and t.expires_at > ${at}
    returning t.family_id, t.user_id, u.role`;
  return row ?? null;
}

/**
 * A token used after `since` (within the reuse window), not revoked and not expired: its family and user, the
 * row locked so that a revocation of the family waits for the caller's successor and then revokes it too.
 */
export async function recentlyUsedRefreshToken(sql: Sql | TransactionSql, tokenHash: Buffer, since: Date, at: Date): Promise<UsedRefreshToken | null> {
  const [row] = await sql<UsedRefreshToken[]>`
    select t.family_id, t.user_id, u.role
    from refresh_token t join app_user u on u.id = t.user_id
    where t.token_hash = ${tokenHash} and t.used_at > ${since} and t.revoked_at is null and t.expires_at > ${at}
    for update of t`;
  return row ?? null;
}

/** What became of a token that could not be used: null when there never was such a token. */
export async function refreshTokenState(sql: Sql, tokenHash: Buffer): Promise<RefreshTokenState | null> {
  const [row] = await sql<RefreshTokenState[]>`
    select family_id, used_at is not null as used, revoked_at is not null as revoked
    from refresh_token where token_hash = ${tokenHash}`;
  return row ?? null;
}

/**
 * Revokes every unrevoked token of the family (or of the user), repeated until a pass finds none. One pass is
 * not enough: a rotation committing while it runs inserts a token its snapshot cannot see (it waits on the
 * rotated row's lock, then re-checks only that row). Each pass is its own statement and snapshot, so the next
 * one sees that token; a rotation needs an unrevoked token, so the passes end.
 */
async function revokeUntilNone(revokePass: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let pass = 0; pass < 10; pass++) {
    const count = await revokePass();
    if (count === 0) break;
    total += count;
  }
  return total;
}

export const revokeFamily = (sql: Sql, familyId: string, at: Date) =>
  revokeUntilNone(async () => (await sql`update refresh_token set revoked_at = ${at} where family_id = ${familyId} and revoked_at is null`).count);

export const revokeUserTokens = (sql: Sql, userId: number, at: Date) =>
  revokeUntilNone(async () => (await sql`update refresh_token set revoked_at = ${at} where user_id = ${userId} and revoked_at is null`).count);
