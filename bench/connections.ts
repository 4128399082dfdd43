// node bench/connections.ts [N] [--compress]   (default 10000)
//
// Opens N concurrent idle IMAP connections to one gateway and reports the gateway's RSS per
// connection and whether every connection was served (greeting received, a NOOP answered).
// With --compress each connection logs in and turns on COMPRESS=DEFLATE first, so the figure is
// that of an idle compressed session.
// The gateway runs in a child process so its RSS is not mixed with the clients'. Clients connect
// in batches from 127.0.0.x source addresses (each gets its own ephemeral port range).
// Needs about N file descriptors in each process: if you see EMFILE, raise the limit first
// (`ulimit -n 65536`, or the hard limit in /etc/security/limits.conf).
import { fork } from "node:child_process";
import net from "node:net";
import zlib from "node:zlib";
import { staticAuthenticator } from "../src/imap-gateway/auth/authenticator.ts";
import { silentLogger } from "../src/imap-gateway/logger.ts";
import { createImapServer } from "../src/imap-gateway/server.ts";

const BATCH = 500;
const CONNECTIONS_PER_SOURCE_ADDRESS = 5000;

type ServerMessage =
  | { kind: "listening"; port: number }
  | { kind: "rss"; rss: number; heapUsed: number; sessions: number };

async function runServer(): Promise<void> {
  const server = createImapServer({
    port: 0,
    authenticator: staticAuthenticator([{ username: "bench", password: "bench", userId: "bench" }]),
    allowInsecureAuth: true,
    logger: silentLogger,
    limits: {
      maxConnections: 1_000_000,
      maxConnectionsPerUser: 1_000_000,
      idleTimeoutBeforeAuthMs: 30 * 60_000,
      failedLoginBaseDelayMs: 0,
    },
  });
  const { port } = await server.listen();
  process.send?.({ kind: "listening", port } satisfies ServerMessage);
  process.on("message", async (message: string) => {
    if (message === "rss") {
      globalThis.gc?.();
      const usage = process.memoryUsage();
      process.send?.({
        kind: "rss",
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        sessions: server.sessions().length,
      } satisfies ServerMessage);
    } else if (message === "stop") {
      await server.close();
      process.exit(0);
    }
  });
}

function request(child: ReturnType<typeof fork>, message: string): Promise<ServerMessage> {
  return new Promise((resolve) => {
    child.once("message", (reply: ServerMessage) => resolve(reply));
    child.send(message);
  });
}

class IdleClient {
  readonly socket: net.Socket;
  received = "";
  greeted = false;
  answered = false;
  failed: string | undefined;
  #inflate: zlib.InflateRaw | undefined;
  #deflate: zlib.DeflateRaw | undefined;
  constructor(
    port: number,
    localAddress: string,
    compress: boolean,
    onGreeting: () => void,
    onFailure: () => void,
  ) {
    this.socket = net.connect({ port, host: "127.0.0.1", localAddress });
    // With --compress: greeting → LOGIN → COMPRESS → ready.
    let stage: "greeting" | "login" | "compress" | "ready" = "greeting";
    const read = (text: string) => {
      this.received += text;
      if (stage === "greeting" && this.received.includes("* OK")) {
        if (!compress) {
          stage = "ready";
          this.greeted = true;
          onGreeting();
        } else {
          stage = "login";
          this.socket.write("l LOGIN bench bench\r\n");
        }
      }
      if (stage === "login" && this.received.includes("l OK")) {
        stage = "compress";
        this.socket.write("z COMPRESS DEFLATE\r\n");
      }
      if (stage === "compress" && this.received.includes("z OK")) {
        stage = "ready";
        this.#inflate = zlib.createInflateRaw();
        this.#inflate.on("data", (chunk: Buffer) => read(chunk.toString("latin1")));
        this.#deflate = zlib.createDeflateRaw();
        this.#deflate.on("data", (chunk: Buffer) => this.socket.write(chunk));
        this.greeted = true;
        onGreeting();
      }
      if (this.received.includes("n OK NOOP")) this.answered = true;
      if (this.received.length > 4096) this.received = this.received.slice(-1024);
    };
    this.socket.on("data", (chunk: Buffer) => {
      if (this.#inflate) this.#inflate.write(chunk);
      else read(chunk.toString("latin1"));
    });
    this.socket.on("error", (error) => {
      if (this.failed === undefined) {
        this.failed = (error as NodeJS.ErrnoException).code ?? error.message;
        onFailure();
      }
    });
  }

  send(text: string): void {
    if (this.#deflate) {
      this.#deflate.write(text);
      this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.socket.write(text);
  }
}

async function runBench(total: number, compress: boolean): Promise<void> {
  const child = fork(import.meta.filename, ["--server"], { execArgv: ["--expose-gc"] });
  const listening = await new Promise<ServerMessage>((resolve) => child.once("message", resolve));
  if (listening.kind !== "listening") throw new Error("server did not start");
  const port = listening.port;
  const baseline = await request(child, "rss");
  if (baseline.kind !== "rss") throw new Error("no rss");

  const clients: IdleClient[] = [];
  const t0 = Date.now();
  for (let i = 0; i < total; i += BATCH) {
    const size = Math.min(BATCH, total - i);
    await new Promise<void>((resolve) => {
      let pending = size;
      const done = () => {
        if (--pending === 0) resolve();
      };
      for (let j = 0; j < size; j++) {
        const index = i + j;
        const source = `127.0.0.${2 + Math.floor(index / CONNECTIONS_PER_SOURCE_ADDRESS)}`;
        clients.push(new IdleClient(port, source, compress, done, done));
      }
    });
  }
  const connectSeconds = (Date.now() - t0) / 1000;
  const greeted = clients.filter((c) => c.greeted).length;
  const failures = new Map<string, number>();
  for (const c of clients) if (c.failed) failures.set(c.failed, (failures.get(c.failed) ?? 0) + 1);

  await new Promise((resolve) => setTimeout(resolve, 500));
  const loaded = await request(child, "rss");
  if (loaded.kind !== "rss") throw new Error("no rss");

  for (const c of clients) if (c.greeted) c.send("n NOOP\r\n");
  const deadline = Date.now() + 30_000;
  while (clients.some((c) => c.greeted && !c.answered && !c.failed) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const answered = clients.filter((c) => c.answered).length;
  // Buffers a session allocates but touches only once it has answered (zlib's) count from here.
  const afterNoop = await request(child, "rss");
  if (afterNoop.kind !== "rss") throw new Error("no rss");

  const perConnection = (loaded.rss - baseline.rss) / Math.max(1, loaded.sessions);
  const heapPerConnection = (loaded.heapUsed - baseline.heapUsed) / Math.max(1, loaded.sessions);
  console.log(`connections requested:        ${total}${compress ? " (logged in, COMPRESS=DEFLATE on)" : ""}`);
  console.log(`connected and greeted:        ${greeted} (in ${connectSeconds.toFixed(1)} s)`);
  console.log(`NOOP answered:                ${answered}`);
  console.log(`sessions open on the server:  ${loaded.sessions}`);
  console.log(
    `server RSS before / with all: ${(baseline.rss / 1048576).toFixed(1)} MB / ${(loaded.rss / 1048576).toFixed(1)} MB`,
  );
  console.log(
    `server RSS per connection:    ${(perConnection / 1024).toFixed(1)} KiB (JS heap ${(heapPerConnection / 1024).toFixed(1)} KiB)`,
  );
  const perConnectionAfterNoop = (afterNoop.rss - baseline.rss) / Math.max(1, afterNoop.sessions);
  console.log(`  after each answered a NOOP: ${(perConnectionAfterNoop / 1024).toFixed(1)} KiB`);
  if (failures.size > 0) {
    console.log(`failures: ${[...failures].map(([code, n]) => `${code} x${n}`).join(", ")}`);
    if (failures.has("EMFILE"))
      console.log("hint: raise the file descriptor limit (ulimit -n 65536) and run again");
  }
  console.log(`all served: ${greeted === total && answered === total ? "yes" : "no"}`);
  for (const c of clients) c.socket.destroy();
  child.send("stop");
  await new Promise((resolve) => child.once("exit", resolve));
  process.exitCode = greeted === total && answered === total ? 0 : 1;
}

if (process.argv.includes("--server")) {
  await runServer();
} else {
  const args = process.argv.slice(2);
  const compress = args.includes("--compress");
  const positional = args.filter((arg) => !arg.startsWith("--"));
  const total = Number(positional[0] ?? 10_000);
  if (
    !Number.isInteger(total) ||
    total <= 0 ||
    args.some((arg) => arg.startsWith("--") && arg !== "--compress")
  ) {
    console.error("usage: node bench/connections.ts [N] [--compress]");
    process.exit(2);
  }
  await runBench(total, compress);
}
