// node bench/connections.ts [N]   (default 10000)
//
// Opens N concurrent idle IMAP connections to one gateway and reports the gateway's RSS per
// connection and whether every connection was served (greeting received, a NOOP answered).
// The gateway runs in a child process so its RSS is not mixed with the clients'. Clients connect
// in batches from 127.0.0.x source addresses (each gets its own ephemeral port range).
// Needs about N file descriptors in each process: if you see EMFILE, raise the limit first
// (`ulimit -n 65536`, or the hard limit in /etc/security/limits.conf).
import { fork } from "node:child_process";
import net from "node:net";
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
    authenticator: staticAuthenticator([]),
    logger: silentLogger,
    limits: { maxConnections: 1_000_000, idleTimeoutBeforeAuthMs: 30 * 60_000 },
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
  constructor(port: number, localAddress: string, onGreeting: () => void, onFailure: () => void) {
    this.socket = net.connect({ port, host: "127.0.0.1", localAddress });
    this.socket.on("data", (chunk) => {
      this.received += chunk.toString("latin1");
      if (!this.greeted && this.received.includes("* OK")) {
        this.greeted = true;
        onGreeting();
      }
      if (this.received.includes("n OK NOOP")) this.answered = true;
      if (this.received.length > 4096) this.received = this.received.slice(-1024);
    });
    this.socket.on("error", (error) => {
      if (this.failed === undefined) {
        this.failed = (error as NodeJS.ErrnoException).code ?? error.message;
        onFailure();
      }
    });
  }
}

async function runBench(total: number): Promise<void> {
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
        clients.push(new IdleClient(port, source, done, done));
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

  for (const c of clients) if (c.greeted) c.socket.write("n NOOP\r\n");
  const deadline = Date.now() + 30_000;
  while (clients.some((c) => c.greeted && !c.answered && !c.failed) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const answered = clients.filter((c) => c.answered).length;

  const perConnection = (loaded.rss - baseline.rss) / Math.max(1, loaded.sessions);
  const heapPerConnection = (loaded.heapUsed - baseline.heapUsed) / Math.max(1, loaded.sessions);
  console.log(`connections requested:        ${total}`);
  console.log(`connected and greeted:        ${greeted} (in ${connectSeconds.toFixed(1)} s)`);
  console.log(`NOOP answered:                ${answered}`);
  console.log(`sessions open on the server:  ${loaded.sessions}`);
  console.log(
    `server RSS before / with all: ${(baseline.rss / 1048576).toFixed(1)} MB / ${(loaded.rss / 1048576).toFixed(1)} MB`,
  );
  console.log(
    `server RSS per connection:    ${(perConnection / 1024).toFixed(1)} KiB (JS heap ${(heapPerConnection / 1024).toFixed(1)} KiB)`,
  );
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
  const total = Number(process.argv[2] ?? 10_000);
  if (!Number.isInteger(total) || total <= 0) {
    console.error("usage: node bench/connections.ts [N]");
    process.exit(2);
  }
  await runBench(total);
}
