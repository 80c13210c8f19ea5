// Who is calling: the claims of a verified access token, as every app's routes see them.
export const TOKEN_ISSUER = "storefront-users";
export const TOKEN_AUDIENCE = "storefront";
/** The one signing algorithm: Ed25519. Verifiers accept nothing else (no "none", no HS256 with a public key). */
export const TOKEN_ALGORITHM = "EdDSA";
export const ROLES = ["customer", "admin", "courier", "service"] as const;
export type Role = (typeof ROLES)[number];

export type Identity = {
  /** The token's `sub`: a user's id in decimal, or a service's client id. */
  sub: string;
  role: Role;
  /** The user's id when `sub` is one; null for a service. */
  userId: number | null;
  /** The token as it came, to pass on to the services this request calls. */
  token: string;
};

/** Set by authenticate(): null when the request carried no token. */
export type AuthVariables = { identity: Identity | null };

/** Roles that may act on any user's data: admins, and services acting for the system (the worker, the saga). */
export const ACTS_FOR_ANY_USER: readonly Role[] = ["admin", "service"];
