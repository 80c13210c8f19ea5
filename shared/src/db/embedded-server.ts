// One embedded Postgres (PGlite) for every service of a dev stack: a wire-protocol server in which a client's
// database name is its schema. One PGlite costs ~300 MB of WASM heap, so nine services on one instead of nine
// saves ~2.4 GB. PGlite is a single session, so clients take turns on it (see `drain`), and each turn starts
// with the session's search_path set to the client's schema.
// Clients must use unnamed statements (postgres.js `prepare: false`): named ones would be shared by all. Also shared:
// session settings a client SETs itself. Not served: COPY, LISTEN/NOTIFY, cancel requests. A client idle inside a
// transaction stalls everyone, as a lock would on a real server.
import { mkdirSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

export type EmbeddedServer = {
  port: number;
  /** The URL a client uses for `database`, which names its schema. */
  urlFor(database: string): string;
  stop(): Promise<void>;
};

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3_0 = 196608;
/** Lowercase so the quoted schema equals what an unquoted name resolves to; 63 bytes is Postgres's NAMEDATALEN-1. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** The settings a real server reports at startup; postgres.js reads some of them (e.g. the server version). */
const REPORTED = ["server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone",
  "integer_datetimes", "standard_conforming_strings", "is_superuser", "session_authorization", "application_name"];
/** Ends a client's unfinished work after it vanished: Parse/Bind/Execute "rollback" aborts an implicit or explicit
 *  transaction, and the Sync clears the skip-until-Sync state an error leaves, which would eat the next client's batch. */
const ROLLBACK_AND_SYNC = Buffer.concat([
  message("P", Buffer.from("\0rollback\0\0\0", "latin1")),
  message("B", Buffer.from("\0\0\0\0\0\0\0\0", "latin1")),
  message("E", Buffer.from("\0\0\0\0\0", "latin1")),
  message("S", Buffer.alloc(0)),
]);

type Unit = { kind: "startup" } | { kind: "batch"; bytes: Buffer; endsBatch: boolean };

type Client = {
  socket: Socket;
  id: number;
  schema: string | null;
  inbox: Buffer;
  /** Messages received since the last Sync/Query/Flush: sent to PGlite only once that ending arrives. */
  partial: Buffer[];
  units: Unit[];
  /** Keeps the turn: its batch is open (no Sync answered yet) or PGlite is in its transaction. */
  holding: boolean;
  closed: boolean;
};

export async function startEmbeddedServer(options: { dataDir?: string; host?: string; port?: number } = {}): Promise<EmbeddedServer> {
  const { host = "127.0.0.1", port = 0, dataDir } = options;
  // Imported lazily: a service given a real database URL never loads the WASM build.
  const { PGlite } = await import("@electric-sql/pglite");
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const startupReply = await buildStartupReply(db);
  const turns = createTurnTaking(db, startupReply);
  const server = createServer((socket) => turns.accept(socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  }).catch(async (err) => {
    await db.close();
    throw err;
  });
  const bound = (server.address() as AddressInfo).port;
  // A first start (initdb) leaves ~700 MB of garbage that Bun may hold on to for minutes; collected here (once,
  // ~0.2 s) RSS goes from ~1,015 to ~310 MB. Earlier, right after PGlite.create, it only got to ~690 MB.
  Bun.gc(true);
  return {
    port: bound,
    urlFor: (database) => `postgres://postgres@${host}:${bound}/${encodeURIComponent(database)}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await turns.closeAll();
      await closed;
      await db.close();
    },
  };
}

function createTurnTaking(db: PGlite, startupReply: (id: number) => Buffer) {
  const clients = new Set<Client>();
  const waiting: Client[] = [];
  const knownSchemas = new Set<string>();
  let turn: Client | null = null;
  let searchPath: string | null = null;
  let draining = false;
  let idle: Promise<void> = Promise.resolve();
  let nextId = 1;

  function pump(): Promise<void> {
    // Never rejects: a failure is the failing client's (fail() closes it), and the others go on.
    if (!draining) idle = drain().catch((err) => console.error("embedded server: the turn loop failed", err));
    return idle;
  }

  function offer(client: Client) {
    if (client !== turn && !waiting.includes(client)) waiting.push(client);
    void pump();
  }

  // One turn at a time: the holder's units run until its batch is answered (Sync/Query) with PGlite outside a
  // transaction; then the next waiting client (FIFO) gets the session. Nothing else touches PGlite meanwhile.
  async function drain() {
    draining = true;
    try {
      for (;;) {
        if (!turn) {
          turn = waiting.shift() ?? null;
          if (!turn) return;
        }
        const client = turn;
        if (client.closed) {
          if (client.holding) await abandon(client);
          turn = null;
          continue;
        }
        const unit = client.units.shift();
        if (!unit) {
          if (client.holding) return; // its next message (e.g. Bind after a Describe) wakes us
          turn = null;
          continue;
        }
        if (unit.kind === "startup") {
          await startSession(client);
        } else {
          if (!(await useSchema(client))) continue;
          await run(client, unit.bytes);
          client.holding = !unit.endsBatch || db.isInTransaction();
        }
        if (!client.holding) {
          turn = null;
          if (client.units.length > 0) waiting.push(client);
        }
      }
    } finally {
      draining = false;
    }
  }

  async function startSession(client: Client) {
    const schema = client.schema!;
    try {
      if (!knownSchemas.has(schema)) {
        await db.exec(`create schema if not exists "${schema}"`);
        knownSchemas.add(schema);
      }
    } catch (err) {
      return fail(client, "3F000", `cannot use schema "${schema}": ${(err as Error).message}`);
    }
    write(client, startupReply(client.id));
  }

  /** The session's search_path set to the client's schema; false (the client failed and closed) if it could not be. */
  async function useSchema(client: Client): Promise<boolean> {
    const schema = client.schema!;
    if (searchPath === schema) return true;
    try {
      await db.exec(`set search_path to "${schema}"`);
    } catch (err) {
      searchPath = null;
      fail(client, "XX000", `embedded server: cannot use schema "${schema}": ${(err as Error).message}`);
      return false;
    }
    searchPath = schema;
    return true;
  }

  async function run(client: Client, bytes: Buffer) {
    try {
      await db.runExclusive(() => db.execProtocolRawStream(bytes, { onRawData: (chunk) => write(client, chunk) }));
    } catch (err) {
      fail(client, "XX000", `embedded server: ${(err as Error).message}`);
    }
  }

  async function abandon(client: Client) {
    client.holding = false;
    try {
      await db.runExclusive(() => db.execProtocolRawStream(ROLLBACK_AND_SYNC, { onRawData: () => {} }));
      if (db.isInTransaction()) await db.exec("rollback");
    } catch (err) {
      console.error(`embedded server: cleaning up after client ${client.id} failed`, err);
    }
  }

  function write(client: Client, bytes: Uint8Array) {
    // Copied: PGlite reuses its output buffer for the next chunk.
    if (!client.closed && client.socket.writable) client.socket.write(Buffer.from(bytes));
  }

  function fail(client: Client, code: string, text: string) {
    write(client, errorResponse(code, text));
    close(client);
  }

  function close(client: Client) {
    if (client.closed) return;
    client.closed = true;
    client.units = [];
    clients.delete(client);
    const index = waiting.indexOf(client);
    if (index >= 0) waiting.splice(index, 1);
    client.socket.end();
    if (turn === client) void pump();
  }

  function receive(client: Client, data: Buffer) {
    client.inbox = client.inbox.length ? Buffer.concat([client.inbox, data]) : data;
    let offered = false;
    while (!client.closed) {
      if (client.schema === null) {
        const startup = takeUntyped(client);
        if (!startup) break;
        onUntyped(client, startup);
        if (client.schema !== null) offered = true;
        continue;
      }
      if (client.inbox.length < 5) break;
      const size = client.inbox.readInt32BE(1) + 1;
      if (size < 5) return fail(client, "08P01", "invalid message length");
      if (client.inbox.length < size) break;
      const message = client.inbox.subarray(0, size);
      client.inbox = client.inbox.subarray(size);
      const type = String.fromCharCode(message[0]!);
      if (type === "X") return close(client); // Terminate: never forwarded, the session is shared
      client.partial.push(message);
      if (type === "S" || type === "Q" || type === "H") {
        client.units.push({ kind: "batch", bytes: Buffer.concat(client.partial), endsBatch: type !== "H" });
        client.partial = [];
        offered = true;
      }
    }
    if (offered && !client.closed) offer(client);
  }

  function takeUntyped(client: Client): Buffer | null {
    if (client.inbox.length < 8) return null;
    const size = client.inbox.readInt32BE(0);
    if (size < 8 || size > 10_000) {
      fail(client, "08P01", "invalid startup packet length");
      return null;
    }
    if (client.inbox.length < size) return null;
    const packet = client.inbox.subarray(0, size);
    client.inbox = client.inbox.subarray(size);
    return packet;
  }

  function onUntyped(client: Client, packet: Buffer) {
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) return void client.socket.write("N");
    if (code === CANCEL_REQUEST) return close(client); // not supported: the query runs on
    if (code !== PROTOCOL_3_0) return fail(client, "08P01", `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
    const parameters = startupParameters(packet.subarray(8));
    const database = parameters.get("database") ?? parameters.get("user") ?? "";
    if (!SCHEMA_NAME.test(database) || database.startsWith("pg_")) {
      return fail(client, "3D000", `database "${database}" cannot name a schema on the embedded server: ` +
        "use lowercase letters, digits and _ (not starting with a digit or pg_), at most 63 characters");
    }
    client.schema = database;
    client.units.push({ kind: "startup" });
  }

  return {
    accept(socket: Socket) {
      socket.setNoDelay(true);
      const client: Client = { socket, id: nextId++, schema: null, inbox: Buffer.alloc(0), partial: [], units: [], holding: false, closed: false };
      clients.add(client);
      socket.on("data", (data: Buffer) => receive(client, data));
      socket.on("error", () => close(client));
      socket.on("close", () => close(client));
    },
    async closeAll() {
      for (const client of [...clients]) {
        close(client);
        client.socket.destroy();
      }
      await pump();
    },
  };
}

function startupParameters(body: Buffer): Map<string, string> {
  const parts = body.toString("utf8").split("\0");
  const parameters = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) parameters.set(parts[i]!, parts[i + 1]!);
  return parameters;
}

/** The startup answer every client gets (the session is already open): AuthenticationOk, the reported settings,
 *  a BackendKeyData (cancel requests are ignored anyway) and ReadyForQuery idle. */
async function buildStartupReply(db: PGlite): Promise<(id: number) => Buffer> {
  const { rows } = await db.query<{ name: string; setting: string }>(
    "select name, current_setting(name) as setting from unnest($1::text[]) as name", [REPORTED]);
  const settings = Buffer.concat(rows.map((r) => message("S", Buffer.from(`${r.name}\0${r.setting}\0`, "utf8"))));
  const authenticationOk = message("R", Buffer.alloc(4));
  const readyForQuery = message("Z", Buffer.from("I", "latin1"));
  return (id) => {
    const key = Buffer.alloc(8);
    key.writeInt32BE(id, 0);
    return Buffer.concat([authenticationOk, settings, message("K", key), readyForQuery]);
  };
}

function errorResponse(code: string, text: string): Buffer {
  return message("E", Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`, "utf8"));
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
