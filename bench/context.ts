// What the scenarios share: the bench databases, our running services and BFF, the run's environment and
// tokens, the peer, the tools found, and how long to run each measurement (BENCH_QUICK=1 shortens every run for
// a smoke test of the suite).
import type { BenchService } from "./databases.ts";
import type { Peer } from "./peer.ts";
import type { RunningApp, Services } from "./stack.ts";
import type { TokenMint } from "./tokens.ts";

export type BenchContext = {
  adminUrl: string;
  dbUrls: Record<BenchService, string>;
  services: Services;
  /** Our BFF with default settings on the five services. */
  bff: RunningApp;
  /** Every app's share of the run's environment (runEnv(): Redis, the run's prefix, rate limits out of reach). */
  appEnv: Record<string, string>;
  /** The Redis the apps use, or null when none answers (the BFF's rate limits then count in memory). */
  redisUrl: string | null;
  /** Tokens signed with the key the users service was given. */
  tokens: TokenMint;
  /** `authorization: Bearer <user 1's token>`: the header of every single-user load. */
  userHeader: string;
  peer: Peer | null;
  /** Why the peer is not measured, when it is not. */
  peerMissing: string | null;
  hasWrk: boolean;
  /** Seconds per measured run. */
  runS: number;
  quick: boolean;
  /** Idle RSS per app (MB), read after start-up. */
  idleRss: Map<string, number>;
  /** Peak RSS per app (MB) during scenario 1. */
  loadRss: Map<string, number>;
  /** Peak RSS per peer process (MB) during scenario 1. */
  peerLoadRss: Map<string, number>;
  /** Median peak listings/s of our BFF in scenario 1, for scenario 2's load. */
  peakRps: number;
  /** Listings/s of scenario 1's run with many users (no shared upstream calls). */
  manyUsersRps: number;
};

/** In every answer that is complete: nothing was dropped. */
export const NOT_DEGRADED = '"degraded":[]';
