// The embedded default: PGlite (Postgres compiled to WASM) served over the wire protocol on a loopback port,
// so the service talks to it through postgres.js exactly as it would to a real server.
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";

export type EmbeddedPostgres = { url: string; stop: () => Promise<void> };

/** `dataDir` keeps the data across restarts; without it the database lives in memory. */
export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections?: number } = {}): Promise<EmbeddedPostgres> {
  // Imported lazily: a service given a real database URL never loads the WASM build.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: options.maxConnections ?? 4 });
  await server.start();
  // getServerConn() echoes the requested port (0); the bound one is on the node:net server.
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
