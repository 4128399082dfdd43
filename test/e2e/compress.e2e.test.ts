// COMPRESS=DEFLATE (RFC 4978) over TCP: imapflow (which turns it on by itself when offered) works
// through it, and a hand-made client checks the wire: what the server sends after the tagged OK
// is raw DEFLATE, smaller than the text it carries, and bad input ends only its own connection.
import net from "node:net";
import zlib from "node:zlib";
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("gina", "gina-password");
});
afterAll(async () => server?.close());

/** A compressible message of about `kib` KiB: what mail mostly is (text, HTML, base64). */
function report(kib: number, subject: string): Buffer {
  const line = "Quarterly figures: revenue, costs and margins stayed within the plan.\r\n";
  return Buffer.from(
    `From: reports@example.org\r\nTo: gina@example.org\r\nSubject: ${subject}\r\n\r\n${line.repeat(Math.ceil((kib * 1024) / line.length))}`,
  );
}

/** IMAP over a socket, uncompressed until compress(), then raw DEFLATE both ways. */
class WireClient {
  readonly #socket: net.Socket;
  #text = "";
  #inflate: zlib.InflateRaw | undefined;
  #deflate: zlib.DeflateRaw | undefined;
  /** Bytes received on the socket since compress(). */
  compressedBytes = 0;
  closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      if (this.#inflate) {
        this.compressedBytes += chunk.length;
        this.#inflate.write(chunk);
      } else this.#text += chunk.toString("latin1");
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => {});
  }

  static async connect(): Promise<WireClient> {
    const socket = net.connect({ port: server.port, host: server.host });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new WireClient(socket);
    await client.#until(() => client.#text.includes("\r\n"));
    return client;
  }

  async #until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.closed)
        throw new Error(`connection closed; received ${JSON.stringify(this.#text.slice(-300))}`);
      if (Date.now() > deadline)
        throw new Error(`timed out; received ${JSON.stringify(this.#text.slice(-300))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  send(data: string | Buffer): void {
    if (this.#deflate) {
      this.#deflate.write(data);
      this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.#socket.write(data);
  }

  /** Sends a command; resolves with its answer's lines through the tagged one. */
  async command(tag: string, text: string): Promise<string[]> {
    const start = this.#text.length;
    this.send(`${tag} ${text}\r\n`);
    const tagged = new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`);
    await this.#until(() => tagged.test(this.#text.slice(start)));
    const lines = this.#text.slice(start).split("\r\n");
    return lines.slice(0, lines.findIndex((line) => line.startsWith(`${tag} `)) + 1);
  }

  /** COMPRESS DEFLATE; on its OK, both directions go through DEFLATE. */
  async compress(): Promise<string> {
    const answer = await this.command("Z", "COMPRESS DEFLATE");
    const inflate = zlib.createInflateRaw();
    inflate.on("data", (chunk: Buffer) => {
      this.#text += chunk.toString("latin1");
    });
    const deflate = zlib.createDeflateRaw();
    deflate.on("data", (chunk: Buffer) => this.#socket.write(chunk));
    this.#inflate = inflate;
    this.#deflate = deflate;
    return answer.at(-1)!;
  }

  /** Waits until the text received since `from` (a length of received()) satisfies `done`. */
  async waitFor(done: (text: string) => boolean, from: number): Promise<void> {
    await this.#until(() => done(this.#text.slice(from)));
  }

  /** How much text has arrived (decompressed), for waitFor. */
  get receivedLength(): number {
    return this.#text.length;
  }

  /** Writes bytes as they are, past the compressor. */
  sendRaw(data: Buffer): void {
    this.#socket.write(data);
  }

  async whenClosed(): Promise<void> {
    await this.#until(() => this.closed).catch(() => {
      throw new Error("the connection stayed open");
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe("COMPRESS=DEFLATE", () => {
  it("imapflow compresses on its own and reads and writes mail through it", async () => {
    const imap = new ImapFlow({
      host: server.host,
      port: server.port,
      secure: false,
      auth: { user: "gina", pass: "gina-password" },
      logger: false,
    });
    await imap.connect();
    try {
      expect(imap.capabilities.has("COMPRESS=DEFLATE")).toBe(true);
      // imapflow keeps its compressor here once the server said OK to COMPRESS.
      expect((imap as unknown as { _deflate?: unknown })._deflate).toBeDefined();
      const sent = report(300, "Q3 report");
      await imap.mailboxCreate("Reports");
      const appended = await imap.append("Reports", sent);
      const uid = appended ? appended.uid : undefined;
      expect(uid).toBe(1);
      const lock = await imap.getMailboxLock("Reports");
      try {
        const message = await imap.fetchOne(String(uid), { source: true }, { uid: true });
        expect(message ? Buffer.compare(message.source!, sent) : "no message").toBe(0);
        expect(await imap.search({ subject: "Q3 report" }, { uid: true })).toEqual([uid]);
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
  });

  it("sends raw DEFLATE from the byte after the OK, much smaller than the text", async () => {
    const client = await WireClient.connect();
    try {
      expect((await client.command("L", "LOGIN gina gina-password")).at(-1)).toMatch(
        /^L OK \[CAPABILITY [^\]]*COMPRESS=DEFLATE/,
      );
      expect(await client.compress()).toBe("Z OK DEFLATE active");
      // No longer offered, and a second COMPRESS is refused.
      expect((await client.command("C", "CAPABILITY"))[0]).not.toContain("COMPRESS=DEFLATE");
      expect((await client.command("Y", "COMPRESS DEFLATE")).at(-1)).toBe(
        "Y BAD [COMPRESSIONACTIVE] DEFLATE compression is active already",
      );
      const body = report(200, "compressed fetch");
      expect(
        (await client.command("A", `APPEND INBOX {${body.length}+}\r\n${body.toString("latin1")}`)).at(-1),
      ).toMatch(/^A OK \[APPENDUID /);
      await client.command("S", "SELECT INBOX");
      const before = client.compressedBytes;
      const fetched = await client.command("F", "UID FETCH 1:* BODY.PEEK[]");
      expect(fetched.at(-1)).toMatch(/^F OK/);
      expect(fetched.join("\r\n")).toContain("Subject: compressed fetch");
      const wire = client.compressedBytes - before;
      expect(wire).toBeGreaterThan(0);
      expect(wire).toBeLessThan(body.length / 10);
      expect((await client.command("O", "LOGOUT")).at(-1)).toBe("O OK LOGOUT completed");
    } finally {
      client.close();
    }
  });

  it("sends IDLE's unilateral EXISTS through the compressor, and takes DONE through it", async () => {
    const idler = await WireClient.connect();
    const writer = await WireClient.connect();
    try {
      await idler.command("L", "LOGIN gina gina-password");
      await idler.compress();
      await idler.command("C", "CREATE Watched");
      const selected = await idler.command("S", "SELECT Watched");
      expect(selected).toContain("* 0 EXISTS");
      const start = idler.receivedLength;
      idler.send("I IDLE\r\n");
      await idler.waitFor((text) => text.includes("+ "), start);
      await writer.command("L", "LOGIN gina gina-password");
      const body = report(1, "while idling");
      expect(
        (await writer.command("A", `APPEND Watched {${body.length}+}\r\n${body.toString("latin1")}`)).at(-1),
      ).toMatch(/^A OK/);
      await idler.waitFor((text) => text.includes("* 1 EXISTS\r\n"), start);
      idler.send("DONE\r\n");
      await idler.waitFor((text) => /\r\nI OK [^\r]*\r\n$/.test(text), start);
    } finally {
      idler.close();
      writer.close();
    }
  });

  it("refuses an unknown mechanism and COMPRESS before login; closes only a connection whose data does not inflate", async () => {
    const early = await WireClient.connect();
    try {
      expect((await early.command("E", "COMPRESS DEFLATE")).at(-1)).toMatch(
        /^E BAD COMPRESS is not allowed before/,
      );
    } finally {
      early.close();
    }

    const client = await WireClient.connect();
    const bystander = await WireClient.connect();
    try {
      await client.command("L", "LOGIN gina gina-password");
      expect((await client.command("U", "COMPRESS ZSTD")).at(-1)).toBe(
        "U BAD unknown compression mechanism ZSTD; this server offers DEFLATE",
      );
      expect(await client.compress()).toBe("Z OK DEFLATE active");
      client.sendRaw(Buffer.from("x NOOP\r\n this is not deflate data \xff\xfe\r\n", "latin1"));
      await client.whenClosed();
      expect((await bystander.command("L", "LOGIN gina gina-password")).at(-1)).toMatch(/^L OK/);
      expect((await bystander.command("N", "NOOP")).at(-1)).toBe("N OK NOOP completed");
    } finally {
      client.close();
      bystander.close();
    }
  });
});
