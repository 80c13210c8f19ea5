// What every request of the web app carries: the services its handlers reach (the BFF client, the session
// store, the clock), who is logged in, and the CSRF token its forms embed. One Env type for every router.
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { DeadlineVariables } from "@storefront/shared/deadline-propagation";
import type { Logger } from "@storefront/shared/observability/logger";
import type { RequestVariables } from "@storefront/shared/observability/request-context";
import type { BffClient } from "./bff.ts";
import type { Session, SessionStore } from "./session.ts";
import type { StatusHistory } from "./status-history.ts";

export type Services = {
  bff: BffClient;
  sessions: SessionStore;
  now: () => number;
  logger: Logger;
  /** Recent latency per upstream, for /status's sparklines (status-history.ts). */
  statusHistory: StatusHistory;
  /** A development run (app.ts): /status and its switches are open to every visitor. */
  development: boolean;
};

/** The variables the web app adds to those of the shared service app (RequestVariables). */
export type WebOwnVariables = {
  services: Services;
  /** null for a visitor who is not logged in (or whose session could not be renewed). */
  session: Session | null;
  /** The token every POST form carries in its hidden `_csrf` field (csrf.ts). */
  csrfToken: string;
};

/** All of a request's variables: the shared service app's (request id, timings, deadline, identity) and ours. */
export type WebVariables = RequestVariables & DeadlineVariables & AuthVariables & WebOwnVariables;

export type WebEnv = { Variables: WebVariables };
