// Serves PGlite's one session to many PostgreSQL wire-protocol connections (the embedded mode's
// pool, and the admin CLI joining a running server), one exchange at a time.
//
// @electric-sql/pglite-socket queued each protocol message on its own, so outside a transaction
// the Parse of one connection could land between the Parse and the Bind of another, which both
// use the unnamed statement: "bind message supplies 3 parameters, but prepared statement ""
// requires 4", a wrong portal, a failed LOGIN. Here a connection's messages go to PGlite as one
// unit from the first to the Sync (or a simple Query) that ends the exchange, and while a unit
// leaves a transaction open only that connection's units run, so transactions stay atomic and
// isolated from the other connections.
import net from "node:net";
import type { PGlite } from "@electric-sql/pglite";

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSS_REQUEST = 80877104;
const PROTOCOL_3 = 196608;
/** Message types that end an exchange: Sync, Query, Flush, FunctionCall. */
const UNIT_END = new Set(["S", "Q", "H", "F"]);
const TERMINATE = "X";
/** A message longer than this is refused (PostgreSQL's own limit is 1 GiB). */
const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;

interface Unit {
  connection: Connection;
  bytes: Uint8Array;
}

class Connection {
  readonly socket: net.Socket;
  readonly server: PgliteSocketServer;
  #buffer: Buffer = Buffer.alloc(0);
  #started = false;
  #pending: Buffer[] = [];
  closed = false;

  constructor(server: PgliteSocketServer, socket: net.Socket) {
    this.server = server;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.#receive(chunk));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  #receive(chunk: Buffer) {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (!this.closed) {
      if (!this.#started) {
        // Startup phase: length, then a code or the protocol version; no type byte.
        if (this.#buffer.length < 8) return;
        const length = this.#buffer.readInt32BE(0);
        if (length < 8 || length > 10_000) return this.close();
        if (this.#buffer.length < length) return;
        const code = this.#buffer.readInt32BE(4);
        const message = this.#buffer.subarray(0, length);
        this.#buffer = this.#buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSS_REQUEST) {
          this.socket.write("N");
        } else if (code === CANCEL_REQUEST) {
          return this.close();
        } else if (code === PROTOCOL_3) {
          this.#started = true;
          this.server.enqueue({ connection: this, bytes: new Uint8Array(message) });
        } else {
          return this.close();
        }
        continue;
      }
      if (this.#buffer.length < 5) return;
      const type = String.fromCharCode(this.#buffer[0]!);
      const length = 1 + this.#buffer.readInt32BE(1);
      if (length < 5 || length > MAX_MESSAGE_BYTES) return this.close();
      if (this.#buffer.length < length) return;
      const message = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
      if (type === TERMINATE) return this.close();
      this.#pending.push(message);
      if (UNIT_END.has(type)) {
        const bytes = new Uint8Array(Buffer.concat(this.#pending));
        this.#pending = [];
        this.server.enqueue({ connection: this, bytes });
      }
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.server.forget(this);
  }
}

export class PgliteSocketServer {
  readonly #db: PGlite;
  readonly #path: string;
  readonly #connections = new Set<Connection>();
  #server: net.Server | undefined;
  #queue: Unit[] = [];
  #running = false;
  /** The connection whose transaction is open: only its units run until it ends. */
  #owner: Connection | undefined;

  constructor(options: { db: PGlite; path: string }) {
    this.#db = options.db;
    this.#path = options.path;
  }

  async start(): Promise<void> {
    await this.#db.waitReady;
    const server = net.createServer((socket) => this.#connections.add(new Connection(this, socket)));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  enqueue(unit: Unit) {
    this.#queue.push(unit);
    void this.#drain();
  }

  forget(connection: Connection) {
    this.#connections.delete(connection);
    this.#queue = this.#queue.filter((unit) => unit.connection !== connection);
    if (this.#owner === connection) {
      // Its transaction can never end now: roll it back and let the others in.
      this.#owner = undefined;
      void this.#db
        .runExclusive(() => this.#db.exec("ROLLBACK"))
        .catch(() => {})
        .finally(() => void this.#drain());
    }
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const index =
          this.#owner === undefined ? 0 : this.#queue.findIndex((unit) => unit.connection === this.#owner);
        if (index < 0 || this.#queue.length === 0) return;
        const [unit] = this.#queue.splice(index, 1);
        const { connection, bytes } = unit!;
        if (connection.closed) continue;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(bytes, {
              onRawData: (data) => {
                if (!connection.closed) connection.socket.write(Buffer.from(data));
              },
            }),
          );
        } catch {
          connection.close();
        }
        const inTransaction = this.#db.isInTransaction();
        if (inTransaction && connection.closed) {
          await this.#db.runExclusive(() => this.#db.exec("ROLLBACK")).catch(() => {});
        }
        this.#owner = inTransaction && !connection.closed ? connection : undefined;
      }
    } finally {
      this.#running = false;
    }
  }

  async stop(): Promise<void> {
    for (const connection of [...this.#connections]) connection.close();
    this.#queue = [];
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
