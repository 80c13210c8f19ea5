// Query functions for app_user; each takes `sql` first.
import type { Sql } from "postgres";
import type { Role } from "@storefront/shared/auth/identity";

export type UserRole = Exclude<Role, "service">;
export type UserRow = { user_id: number; email: string; name: string; role: UserRole };
export type Credentials = { user_id: number; role: UserRole; password_hash: string };

/** Postgres's unique_violation: the email's index refused a second account. */
const UNIQUE_VIOLATION = "23505";

/**
 * Creates the account; null when the email is taken. The unique index decides, so of two registrations racing
 * for one email exactly one wins, without a read-then-insert gap.
 */
export async function insertUser(sql: Sql, user: { email: string; name: string; passwordHash: string; role: UserRole }): Promise<UserRow | null> {
  try {
    const [row] = await sql<UserRow[]>`
      insert into app_user (email, name, password_hash, role)
      values (${user.email}, ${user.name}, ${user.passwordHash}, ${user.role})
      returning id as user_id, email, name, role`;
    return row!;
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) return null;
    throw err;
  }
}

/** `email` already trimmed and lowercased; the lookup goes through the lower(email) index. */
export async function findCredentials(sql: Sql, email: string): Promise<Credentials | null> {
  const [row] = await sql<Credentials[]>`select id as user_id, role, password_hash from app_user where lower(email) = ${email}`;
  return row ?? null;
}

export async function findUser(sql: Sql, userId: number): Promise<UserRow | null> {
  const [row] = await sql<UserRow[]>`select id as user_id, email, name, role from app_user where id = ${userId}`;
  return row ?? null;
}

/** Replaces the hash only if it is still `previous`: a password changed meanwhile is not overwritten. */
export async function replacePasswordHash(sql: Sql, userId: number, previous: string, next: string): Promise<void> {
  await sql`update app_user set password_hash = ${next} where id = ${userId} and password_hash = ${previous}`;
}
