// An IMAP client over an in-memory duplex pair attached to a server: no sockets, for unit tests
// and the fuzzer.
import { duplexPair } from "node:stream";
import type { ImapServer } from "../server.ts";
import type { Session } from "../session/session.ts";

export class MemoryImapClient {
  readonly session: Session | undefined;
  readonly #side: ReturnType<typeof duplexPair>[0];
  #text = "";
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(server: ImapServer, remoteAddress = "192.0.2.1") {
    const [client, serverSide] = duplexPair();
    this.#side = client;
    client.setEncoding("latin1");
    client.on("data", (chunk: string) => {
      this.#text += chunk;
      this.#wake();
    });
    const onGone = (): void => {
      this.#closed = true;
      this.#wake();
    };
    client.on("end", onGone);
    client.on("close", onGone);
    client.on("error", onGone);
    this.session = server.attach(serverSide, { remoteAddress, secure: false });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Everything the server sent so far. */
  get received(): string {
    return this.#text;
  }

  get lines(): string[] {
    return this.#text.split("\r\n").slice(0, -1);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: string | Buffer): void {
    if (!this.#closed) this.#side.write(data);
  }

  async waitFor(predicate: (received: string) => boolean, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.#text)) {
      const left = deadline - Date.now();
      if (this.#closed || left <= 0) {
        if (predicate(this.#text)) break;
        throw new Error(
          `${this.#closed ? "closed" : "timed out"}; received: ${JSON.stringify(this.#text.slice(-600))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#text;
  }

  /** Sends `tag text` CRLF (or raw bytes when text is a Buffer) and resolves with the lines from this command's answer through its tagged line. */
  async command(tag: string, text: string | Buffer, timeoutMs = 3000): Promise<string[]> {
    // The greeting first, so it is not mistaken for part of this command's answer.
    await this.waitFor((t) => t.includes("\r\n"), timeoutMs);
    const start = this.lines.length;
    this.send(typeof text === "string" ? `${tag} ${text}\r\n` : text);
    await this.waitFor(() => this.lines.slice(start).some((l) => l.startsWith(`${tag} `)), timeoutMs);
    const lines = this.lines.slice(start);
    return lines.slice(0, lines.findIndex((l) => l.startsWith(`${tag} `)) + 1);
  }

  async whenClosed(timeoutMs = 3000): Promise<void> {
    await this.waitFor(() => this.#closed, timeoutMs).catch(() => {
      if (!this.#closed) throw new Error("connection still open");
    });
  }

  close(): void {
    this.#side.destroy();
  }

  /** Half-closes: the client sends nothing more, and still reads. */
  end(): void {
    this.#side.end();
  }
}
