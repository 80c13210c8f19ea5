// What the scenarios share: the bench databases, our running services and BFF, the peer, the tools found,
// and how long to run each measurement (BENCH_QUICK=1 shortens every run for a smoke test of the suite).
import type { BenchService } from "./databases.ts";
import type { Peer } from "./peer.ts";
import type { RunningApp, Services } from "./stack.ts";

export type BenchContext = {
  adminUrl: string;
  dbUrls: Record<BenchService, string>;
  services: Services;
  /** Our BFF with default settings on the four services. */
  bff: RunningApp;
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

export const USER_HEADER = "x-user-id: 1";
/** In every answer that is complete: nothing was dropped. */
export const NOT_DEGRADED = '"degraded":[]';
