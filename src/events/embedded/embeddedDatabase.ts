// The embedded mode's database: PGlite (PostgreSQL compiled to WebAssembly, in-process) with its
// data under DATA_DIR, served on a Unix socket in that directory with the PostgreSQL wire protocol.
// Everything else (slonik, pg, migrations, the event store) then runs unchanged, and a second
// process (the admin CLI while the server runs) reaches the same database through that socket.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

/** PostgreSQL's socket file name for port 5432, so `pg` finds it from the directory alone. */
const SOCKET_NAME = ".s.PGSQL.5432";
const LOCK_NAME = "mailledger.pid";
/** Unix socket paths are limited to about 107 bytes (sockaddr_un). */
const MAX_SOCKET_PATH = 100;
/**
 * PostgreSQL's buffer cache inside PGlite. PGlite's default (128 MB) is touched at start and stays
 * resident: about 100 MB of the embedded server's idle RSS. Its files go through the operating
 * system's page cache anyway, so a small cache costs a single-node trial little.
 */
const EMBEDDED_SHARED_BUFFERS = "16MB";
/** How long a second process waits for a starting owner's socket. */
const JOIN_WAIT_MS = 20_000;

export interface EmbeddedDatabase {
  /** A postgres:// URL for pg/slonik. */
  url: string;
  /** Whether this process opened the data directory (false: it joined a running server). */
  owner: boolean;
  close(): Promise<void>;
}

export class EmbeddedDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedDatabaseError";
  }
}

function socketUrl(dir: string): string {
  return `postgres://postgres@${encodeURIComponent(dir)}/postgres`;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Opens the embedded database in `dataDir`, or joins the process that already has it open.
 * Only one process may own a PGlite directory; the pid file guards it.
 */
export async function openEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = path.resolve(dataDir);
  const pgDir = path.join(dir, "pg");
  const socketPath = path.join(dir, SOCKET_NAME);
  const lockPath = path.join(dir, LOCK_NAME);
  if (socketPath.length > MAX_SOCKET_PATH) {
    throw new EmbeddedDatabaseError(
      `DATA_DIR "${dir}" is too long for a Unix socket path; choose a shorter one`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });

  if (existsSync(lockPath)) {
    const pid = Number.parseInt(await readFile(lockPath, "utf8"), 10);
    if (pid === process.pid)
      throw new EmbeddedDatabaseError(`DATA_DIR "${dir}" is already open in this process`);
    if (Number.isInteger(pid) && processAlive(pid)) {
      // The owner may still be starting: its socket appears once PGlite has opened.
      const deadline = Date.now() + JOIN_WAIT_MS;
      while (Date.now() < deadline) {
        if (await canConnect(socketPath)) return { url: socketUrl(dir), owner: false, close: async () => {} };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new EmbeddedDatabaseError(
        `DATA_DIR "${dir}" is in use by process ${pid}, which does not answer on ${socketPath}`,
      );
    }
  }
  await writeFile(lockPath, String(process.pid), { mode: 0o600 });
  await rm(socketPath, { force: true });

  // Loaded only by the owner: a CLI call that joins a running server never pays for the WebAssembly.
  const [{ PGlite }, { PgliteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("./pgliteSocketServer.ts"),
  ]);
  const db = await PGlite.create({
    dataDir: pgDir,
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
  });
  // Many connections share PGlite's one session: the server runs one exchange at a time and keeps
  // a transaction's statements together, so transactions stay atomic and isolated.
  const server = new PgliteSocketServer({ db, path: socketPath });
  await server.start();

  let closed = false;
  return {
    url: socketUrl(dir),
    owner: true,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await db.close();
      await rm(socketPath, { force: true });
      await rm(lockPath, { force: true });
    },
  };
}
