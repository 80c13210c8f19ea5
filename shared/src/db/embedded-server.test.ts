// The shared embedded server against real PGlite and postgres.js: schema per database name, turn-taking between
// clients (pipelined batches, transactions, clients that vanish), bad names, and data kept across a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { connectDatabase, type Database } from "./connect.ts";
import { startEmbeddedServer, type EmbeddedServer } from "./embedded-server.ts";
import { migrate } from "./migrate.ts";

let server: EmbeddedServer;
const opened: Database[] = [];

beforeAll(async () => {
  server = await startEmbeddedServer();
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await server.stop();
});

async function open(database: string): Promise<Database> {
  const db = await connectDatabase({ embeddedServer: server, database });
  opened.push(db);
  return db;
}

const migrations = (service: string) => fileURLToPath(new URL(`../../../apps/${service}/src/db/migrations`, import.meta.url));

describe("a schema per database name", () => {
  test("two clients create the same table name and each reads back only its own rows", async () => {
    const [a, b] = await Promise.all([open("iso_a"), open("iso_b")]);
    await Promise.all([a.sql`create table t (x int)`, b.sql`create table t (x int)`]);
    await Promise.all([a.sql`insert into t values (${1})`, b.sql`insert into t values (${2}), (${3})`]);
    expect((await a.sql`select x from t order by x`).map((r) => r.x)).toEqual([1]);
    expect((await b.sql`select x from t order by x`).map((r) => r.x)).toEqual([2, 3]);
    const where = await a.sql`select table_schema from information_schema.tables where table_name = 't' order by 1`;
    expect(where.map((r) => r.table_schema)).toEqual(["iso_a", "iso_b"]);
  });

  test("two services' migrations applied concurrently through two clients both succeed, each in its own schema", async () => {
    const [cart, favorites] = await Promise.all([open("mig_cart"), open("mig_favorites")]);
    const [cartApplied, favoritesApplied] = await Promise.all([
      migrate(cart.sql, migrations("cart")),
      migrate(favorites.sql, migrations("favorites")),
    ]);
    expect(cartApplied).toContain("001_user_cart.sql");
    expect(favoritesApplied).toContain("001_user_favorite.sql");
    const tables = await cart.sql<{ table_schema: string; table_name: string }[]>`
      select table_schema, table_name from information_schema.tables
      where table_schema in ('mig_cart', 'mig_favorites') and table_name in ('user_cart', 'user_favorite', 'schema_migrations')
      order by 1, 2`;
    expect(tables.map((t) => `${t.table_schema}.${t.table_name}`)).toEqual([
      "mig_cart.schema_migrations", "mig_cart.user_cart",
      "mig_favorites.schema_migrations", "mig_favorites.user_favorite",
    ]);
    // Applying again finds everything recorded in the schema's own schema_migrations.
    expect(await migrate(cart.sql, migrations("cart"))).toEqual([]);
    expect(await migrate(favorites.sql, migrations("favorites"))).toEqual([]);
  });
});

describe("turn-taking on the single session", () => {
  test("3 clients x 200 concurrent parameterized queries all return their own schema's answer", async () => {
    const clients = await Promise.all(["mix_1", "mix_2", "mix_3"].map(open));
    await Promise.all(clients.map((c, i) => c.sql.begin(async (tx) => {
      await tx`create table tag (name text not null)`;
      await tx`insert into tag values (${`client-${i}`})`;
    })));
    const results = await Promise.all(clients.flatMap((c, i) =>
      Array.from({ length: 200 }, async (_, n) => {
        const [row] = await c.sql<{ n: number; name: string }[]>`select ${n}::int as n, name from tag where name like ${"client-%"}`;
        return row!.n === n && row!.name === `client-${i}`;
      })));
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(results).toHaveLength(600);
  });

  test("a client's open transaction makes the others wait, so none sees its row before the commit", async () => {
    const [writer, sameSchema, other] = await Promise.all([open("tx_w"), open("tx_w"), open("tx_o")]);
    await writer.sql`create table t (x int)`;
    await other.sql`create table u (x int)`;
    let inserted = 0;
    let started!: () => void;
    const insertedSignal = new Promise<void>((resolve) => (started = resolve));
    const transaction = writer.sql.begin(async (tx) => {
      await tx`insert into t values (${1})`;
      inserted = performance.now();
      started();
      await Bun.sleep(200);
    });
    await insertedSignal;
    const reads = [
      ...Array.from({ length: 5 }, () => sameSchema.sql<{ n: number }[]>`select count(*)::int as n from t`),
      ...Array.from({ length: 5 }, () => other.sql<{ n: number }[]>`select count(*)::int as n from tx_w.t`),
      other.sql<{ n: number }[]>`select count(*)::int as n from u`,
    ].map(async (query) => ({ n: (await query)[0]!.n, at: performance.now() }));
    const answered = await Promise.all(reads);
    await transaction;
    // Each read waited for the commit (~200 ms after the insert; 150 ms leaves room for timer jitter)...
    for (const { at } of answered) expect(at - inserted).toBeGreaterThan(150);
    // ...and saw the committed row, never a state in between.
    expect(answered.slice(0, 10).map((r) => r.n)).toEqual(Array(10).fill(1));
    expect(answered[10]!.n).toBe(0);
  });

  test("a client whose socket is destroyed mid-transaction is rolled back and the others go on", async () => {
    const reader = await open("kill_tx");
    await reader.sql`create table t (x int)`;
    const raw = await rawClient(server.port, "kill_tx");
    expect(await raw.query("begin; insert into t values (1)")).toContain("ZT"); // ReadyForQuery: in a transaction
    const waiting = reader.sql`select count(*)::int as n from t`;
    raw.socket.destroy();
    expect((await waiting)[0]!.n).toBe(0);
    await reader.sql`insert into t values (${2})`;
    expect((await reader.sql`select x from t`).map((r) => r.x)).toEqual([2]);
  });

  test("a client destroyed between Execute and Sync of a batch leaves nothing behind: no row, no skipped messages", async () => {
    const reader = await open("kill_batch");
    await reader.sql`create table t (x int)`;
    const inserting = await rawClient(server.port, "kill_batch");
    expect(await inserting.flushed("insert into t values (7)")).toContain("C"); // CommandComplete, no Sync yet
    inserting.socket.destroy();
    expect((await reader.sql`select count(*)::int as n from t`)[0]!.n).toBe(0);
    // An error mid-batch puts the session in skip-until-Sync; the next client's batch must still run.
    const failing = await rawClient(server.port, "kill_batch");
    expect(await failing.flushed("select * from no_such_table")).toContain("E");
    failing.socket.destroy();
    await reader.sql`insert into t values (${8})`;
    expect((await reader.sql`select x from t`).map((r) => r.x)).toEqual([8]);
  });
});

describe("database names", () => {
  test("a name that cannot be a schema gets a clear error and the server keeps serving", async () => {
    for (const name of ["Bad-Name", "1st", "pg_catalog", "x".repeat(64)]) {
      const sql = postgres(server.urlFor(name), { max: 1, prepare: false, onnotice: () => {} });
      const error = await sql`select 1`.then(() => null, (err: Error) => err);
      await sql.end({ timeout: 1 });
      expect(error?.message).toContain("cannot name a schema on the embedded server");
    }
    const good = await open("after_bad_names");
    expect((await good.sql`select 1 as one`)[0]!.one).toBe(1);
  });
});

describe("data directory", () => {
  test("a restart with the same data directory finds the data written before", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "embedded-server-"));
    try {
      const first = await startEmbeddedServer({ dataDir });
      const writer = await connectDatabase({ embeddedServer: first, database: "kept" });
      await writer.sql`create table t (x int)`;
      await writer.sql`insert into t values (${42})`;
      await writer.close();
      await first.stop();

      const second = await startEmbeddedServer({ dataDir });
      const reader = await connectDatabase({ embeddedServer: second, database: "kept" });
      try {
        expect((await reader.sql`select x from t`).map((r) => r.x)).toEqual([42]);
      } finally {
        await reader.close();
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** A wire-protocol client by hand, for what postgres.js never does on purpose: vanish mid-batch. */
async function rawClient(port: number, database: string) {
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = Buffer.alloc(0);
  let onData = () => {};
  socket.on("data", (data: Buffer) => {
    received = Buffer.concat([received, data]);
    onData();
  });
  // Resolves with the message types received up to the first of `ends`, e.g. "C ZI" (ReadyForQuery with its status).
  const until = (...ends: string[]) => new Promise<string>((resolve) => {
    const check = () => {
      const types: string[] = [];
      for (let at = 0; at + 5 <= received.length;) {
        const size = received.readInt32BE(at + 1) + 1;
        if (at + size > received.length) break;
        types.push(String.fromCharCode(received[at]!) + (received[at] === 90 ? String.fromCharCode(received[at + 5]!) : ""));
        at += size;
        if (ends.some((end) => types.at(-1)!.startsWith(end))) {
          received = received.subarray(at);
          return resolve(types.join(" "));
        }
      }
      onData = check;
    };
    check();
  });
  const frame = (type: string, body: string) => {
    const bytes = Buffer.from(body, "utf8");
    const header = Buffer.alloc(5);
    header.write(type, 0, "latin1");
    header.writeInt32BE(bytes.length + 4, 1);
    return Buffer.concat([header, bytes]);
  };
  const params = Buffer.from(`user\0postgres\0database\0${database}\0\0`, "utf8");
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  socket.write(Buffer.concat([startup, params]));
  await until("Z");
  return {
    socket,
    /** A simple Query; resolves with the types received up to ReadyForQuery (which carries the status). */
    query: (text: string) => {
      socket.write(frame("Q", `${text}\0`));
      return until("Z");
    },
    /** Parse/Bind/Execute then Flush without a Sync: the batch stays open. Resolves at CommandComplete or an error. */
    flushed: (text: string) => {
      socket.write(Buffer.concat([frame("P", `\0${text}\0\0\0`), frame("B", "\0\0\0\0\0\0\0\0"), frame("E", "\0\0\0\0\0"), frame("H", "")]));
      return until("C", "E");
    },
  };
}
