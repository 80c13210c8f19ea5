// What every app's index.ts builds to check tokens: a client of the users service (breaker, retries,
// deadline: the shared upstream client), its published keys cached (remote-keys.ts), and the verifier.
import type { Logger } from "../observability/logger.ts";
import { createUpstreamClient } from "../upstream/client.ts";
import { createRemoteKeys } from "./remote-keys.ts";
import { createTokenVerifier, type TokenVerifier } from "./token-verifier.ts";

export const DEFAULT_USERS_URL = "http://127.0.0.1:8005";

export function createUsersVerifier(options: { usersUrl: string; logger: Logger }): TokenVerifier {
  const { usersUrl, logger } = options;
  const users = createUpstreamClient("users", usersUrl, {
    breaker: { onStateChange: (change) => logger.warn("circuit breaker state change", change) },
  });
  const keys = createRemoteKeys({
    users,
    onRefreshError: (err) => logger.warn("refreshing the users service's keys failed; the cached keys stay in use", { error: String(err) }),
  });
  return createTokenVerifier({ keys });
}
