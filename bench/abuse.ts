// node bench/abuse.ts [--connections N]   (default 10000; needs `ulimit -n` above it)
//
// Abusive clients against one gateway process (distributed mode, on the shared test services):
// a client that never reads its socket while asking for gigabytes, a 1 GiB literal, N
// connections from one address, and deep nesting. For each it prints what the abuser was
// answered, the gateway's peak RSS during it (VmHWM, reset before each), and the slowest NOOP of
// a well-behaved client probing the same node meanwhile: each limit must hold, memory must stay
// bounded, and the other session must be served.
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { parseArgs } from "node:util";
import { ProcessCluster } from "../test/support/processCluster.ts";
import { RawImapClient } from "./imap/rawClient.ts";

const PASSWORD = "abuse-password";
const { values } = parseArgs({ options: { connections: { type: "string", default: "10000" } } });
const CONNECTIONS = Number.parseInt(values.connections, 10);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function status(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
}

/** Resets the peak RSS the kernel keeps for the process (clear_refs 5). */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, "5").catch(() => {});
}

/** A logged-in client that sends NOOP every 200 ms and keeps the slowest answer. */
async function probe(port: number, user: string) {
  const client = await RawImapClient.connect("127.0.0.1", port);
  await client.expectOk(`LOGIN ${user} "${PASSWORD}"`);
  let slowest = 0;
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const answer = await client.command("NOOP").catch(() => undefined);
      if (!answer?.ok) failures++;
      slowest = Math.max(slowest, Date.now() - started);
      await sleep(200);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.close();
      return { slowest, failures };
    },
  };
}

function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Reads from `socket` until `predicate` holds on what came, or the socket ends. */
function readUntil(
  socket: net.Socket,
  predicate: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const done = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(text);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (predicate(text)) done();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("data", onData);
    socket.once("close", done);
  });
}

interface Row {
  abuse: string;
  answer: string;
  peakRss: number;
  probe: string;
}

const cluster = await ProcessCluster.create({
  env: { IMAP_MAX_CONNECTIONS: String(Math.floor(CONNECTIONS / 2)) },
});
const rows: Row[] = [];
try {
  await cluster.start("gateway", ["gateway"]);
  const pid = cluster.process("gateway").pid;
  const port = cluster.imapPort("gateway");
  await cluster.createUser("abuser", PASSWORD);
  await cluster.createUser("probe", PASSWORD);
  const idleRss = await status(pid, "VmRSS");
  console.log(`gateway pid ${pid}, idle RSS ${(idleRss / 2 ** 20).toFixed(0)} MiB`);

  const measure = async (abuse: string, run: () => Promise<string>) => {
    await resetPeak(pid);
    const prober = await probe(port, "probe");
    const answer = await run();
    const { slowest, failures } = await prober.stop();
    const row = {
      abuse,
      answer,
      peakRss: await status(pid, "VmHWM"),
      probe: `slowest NOOP ${slowest} ms, ${failures} failed`,
    };
    rows.push(row);
    console.log(`${abuse}: ${answer}; peak RSS ${(row.peakRss / 2 ** 20).toFixed(0)} MiB; ${row.probe}`);
  };

  // 1. Asks for 10 MiB × 10 × 400 and never reads a byte.
  const body = Buffer.concat([Buffer.from("Subject: big\r\n\r\n"), Buffer.alloc(1024 * 1024, "x")]);
  const filler = await RawImapClient.connect("127.0.0.1", port);
  await filler.expectOk(`LOGIN abuser "${PASSWORD}"`);
  for (let i = 0; i < 10; i++) await filler.expectOk("APPEND INBOX", body);
  await filler.close();
  await measure("a client that never reads (400 × FETCH 1:* BODY[] of 10 MiB)", async () => {
    const socket = await rawSocket(port);
    socket.pause();
    socket.write(`a LOGIN abuser "${PASSWORD}"\r\nb SELECT INBOX\r\n`);
    for (let i = 0; i < 400; i++) socket.write(`f${i} FETCH 1:* BODY[]\r\n`);
    await sleep(15_000);
    const open = !socket.destroyed && socket.readyState === "open";
    socket.destroy();
    return open ? "still connected after 15 s, the server's output held back" : "disconnected by the server";
  });

  // 2. A 1 GiB literal, sent as LITERAL+ without waiting.
  await measure("a 1 GiB APPEND literal", async () => {
    const socket = await rawSocket(port);
    await readUntil(socket, (text) => text.includes("\r\n"), 5_000);
    socket.write(`a LOGIN abuser "${PASSWORD}"\r\n`);
    await readUntil(socket, (text) => text.includes("a OK"), 10_000);
    const answer = readUntil(
      socket,
      (text) => /\r\nb (OK|NO|BAD)[^\r]*\r\n|^b (OK|NO|BAD)/.test(text),
      300_000,
    );
    socket.write(`b APPEND INBOX {${2 ** 30}+}\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, "y");
    let sent = 0;
    const started = Date.now();
    while (sent < 2 ** 30 && !socket.destroyed) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
      sent += chunk.length;
    }
    if (!socket.destroyed) socket.write("\r\n");
    const text = await answer;
    socket.destroy();
    const line = /b (OK|NO|BAD)[^\r]*/.exec(text)?.[0] ?? (text.trim().split("\r\n").at(-1) || "closed");
    return `${line} (${(sent / 2 ** 20).toFixed(0)} MiB sent in ${((Date.now() - started) / 1000).toFixed(1)} s)`;
  });

  // 3. CONNECTIONS connections from one address, against IMAP_MAX_CONNECTIONS = half of them.
  await measure(
    `${CONNECTIONS} connections from one address (IMAP_MAX_CONNECTIONS ${Math.floor(CONNECTIONS / 2)})`,
    async () => {
      const sockets: net.Socket[] = [];
      let greeted = 0;
      let refused = 0;
      let failed = 0;
      for (let start = 0; start < CONNECTIONS; start += 500) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(500, CONNECTIONS - start) }, async () => {
            try {
              const socket = await rawSocket(port);
              const first = await readUntil(socket, (text) => text.includes("\r\n"), 20_000);
              if (first.startsWith("* OK")) greeted++;
              else if (first.startsWith("* BYE")) refused++;
              else failed++;
              return socket;
            } catch {
              failed++;
              return undefined;
            }
          }),
        );
        for (const socket of batch) if (socket) sockets.push(socket);
      }
      await sleep(2_000);
      for (const socket of sockets) socket.destroy();
      return `${greeted} greeted, ${refused} refused with BYE, ${failed} failed`;
    },
  );

  // 4. Nesting: 1,000 levels within the line limit, and 100,000 beyond it.
  await measure("nesting 1,000 deep, then a 200 KB line of parentheses", async () => {
    const client = await RawImapClient.connect("127.0.0.1", port);
    await client.expectOk(`LOGIN abuser "${PASSWORD}"`);
    await client.expectOk("SELECT INBOX");
    const deep = await client.command(`SEARCH ${"(".repeat(1_000)}ALL${")".repeat(1_000)}`);
    const long = await client
      .command(`SEARCH ${"(".repeat(100_000)}ALL${")".repeat(100_000)}`)
      .catch(() => undefined);
    const after = await client.command("NOOP").catch(() => undefined);
    await client.close();
    return `${deep.status.replace(/^\S+ /, "")} | ${long?.status.replace(/^\S+ /, "") ?? "closed"} | then NOOP ${after?.ok ? "OK" : "failed"}`;
  });
} finally {
  await cluster.close();
}

console.log("\n| abuse | what the abuser got | gateway peak RSS | a well-behaved client meanwhile |");
console.log("|---|---|---:|---|");
for (const row of rows) {
  console.log(`| ${row.abuse} | ${row.answer} | ${(row.peakRss / 2 ** 20).toFixed(0)} MiB | ${row.probe} |`);
}
