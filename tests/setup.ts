// Preloaded by bun test (bunfig.toml): suites that start an embedded Postgres need more than the 5 s default.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
