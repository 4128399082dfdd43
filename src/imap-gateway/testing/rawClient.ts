// A line-oriented IMAP test client over TCP/TLS that shows exactly what the server sent:
// tests assert on the wire, not on a library's interpretation of it.

import net from "node:net";
import tls from "node:tls";

export class RawImapClient {
  #socket: net.Socket | tls.TLSSocket;
  #buffer = "";
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];
  #closed = false;
  #closedResolvers: Array<() => void> = [];

  private constructor(socket: net.Socket | tls.TLSSocket) {
    this.#socket = socket;
    this.#listen(socket);
  }

  static connect(port: number, host = "127.0.0.1", localAddress?: string): Promise<RawImapClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
      socket.once("connect", () => resolve(new RawImapClient(socket)));
      socket.once("error", reject);
    });
  }

  static connectTls(port: number, ca: string | Buffer, host = "127.0.0.1"): Promise<RawImapClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host, ca, servername: "localhost" });
      socket.once("secureConnect", () => resolve(new RawImapClient(socket)));
      socket.once("error", reject);
    });
  }

  #listen(socket: net.Socket | tls.TLSSocket): void {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let index = this.#buffer.indexOf("\r\n");
      while (index !== -1) {
        this.lines.push(this.#buffer.slice(0, index));
        this.#buffer = this.#buffer.slice(index + 2);
        index = this.#buffer.indexOf("\r\n");
      }
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
      for (const resolve of this.#closedResolvers.splice(0)) resolve();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get socket(): net.Socket | tls.TLSSocket {
    return this.#socket;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Waits until a line matching `predicate` arrives (scanning from `from`); returns its index. */
  async waitFor(predicate: (line: string) => boolean, timeoutMs = 5000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (predicate(this.lines[i]!)) return this.lines[i]!;
      if (this.#closed) throw new Error(`connection closed; lines: ${JSON.stringify(this.lines.slice(-10))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; lines: ${JSON.stringify(this.lines.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `tag command` and resolves with all lines up to and including the tagged response. */
  async command(tag: string, text: string, timeoutMs = 5000): Promise<string[]> {
    const start = this.lines.length;
    await this.write(`${tag} ${text}\r\n`);
    await this.waitFor((line) => line.startsWith(`${tag} `), timeoutMs, start);
    const end = this.lines.findIndex((line, i) => i >= start && line.startsWith(`${tag} `));
    return this.lines.slice(start, end + 1);
  }

  greeting(timeoutMs = 5000): Promise<string> {
    return this.waitFor((line) => line.startsWith("* "), timeoutMs);
  }

  /** Upgrades this connection after the server's OK to STARTTLS. */
  startTls(ca: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const raw = this.#socket as net.Socket;
      raw.removeAllListeners("data");
      const secure = tls.connect({ socket: raw, ca, servername: "localhost" });
      secure.once("secureConnect", () => {
        this.#socket = secure;
        this.#buffer = "";
        this.#listen(secure);
        resolve();
      });
      secure.once("error", reject);
    });
  }

  whenClosed(timeoutMs = 5000): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connection still open")), timeoutMs);
      this.#closedResolvers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
