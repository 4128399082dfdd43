// A minimal IMAP client for load generation: tagged commands, responses with literals, no
// parsing beyond framing, so the bench measures the server rather than a client library.
import net from "node:net";

export interface ImapResponse {
  /** The tagged status line, e.g. "A12 OK FETCH completed". */
  status: string;
  ok: boolean;
  /** Untagged response lines (literal contents replaced by their size). */
  untagged: string[];
  /** Bytes received for this command, literals included. */
  bytes: number;
}

interface Pending {
  tag: string;
  resolve: (response: ImapResponse) => void;
  reject: (error: Error) => void;
  untagged: string[];
  bytes: number;
  onContinuation?: () => void;
}

export class RawImapClient {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #literalRemaining = 0;
  #currentLine = "";
  #pending: Pending[] = [];
  #tagCounter = 0;
  #greeting: Promise<string>;
  #resolveGreeting!: (line: string) => void;
  #rejectGreeting!: (error: Error) => void;
  capabilities = new Set<string>();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#greeting = new Promise((resolve, reject) => {
      this.#resolveGreeting = resolve;
      this.#rejectGreeting = reject;
    });
    // A connection that closes before its greeting (a server killed as it accepted) fails connect().
    this.#greeting.catch(() => {});
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.#failAll(error));
    socket.on("close", () => this.#failAll(new Error("connection closed")));
  }

  static async connect(host: string, port: number): Promise<RawImapClient> {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new RawImapClient(socket);
    await client.#greeting;
    const capability = await client.command("CAPABILITY");
    for (const line of capability.untagged) {
      if (line.startsWith("* CAPABILITY ")) {
        for (const cap of line.slice(13).split(" ")) client.capabilities.add(cap.toUpperCase());
      }
    }
    return client;
  }

  #failAll(error: Error): void {
    this.#rejectGreeting(error);
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const current = this.#pending[0];
      if (this.#literalRemaining > 0) {
        const take = Math.min(this.#literalRemaining, this.#buffer.length);
        this.#literalRemaining -= take;
        if (current) current.bytes += take;
        this.#buffer = this.#buffer.subarray(take);
        if (this.#literalRemaining > 0) return;
      }
      const end = this.#buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = this.#buffer.subarray(0, end).toString("latin1");
      if (current) current.bytes += end + 2;
      this.#buffer = this.#buffer.subarray(end + 2);
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal) {
        this.#currentLine += `${line.slice(0, literal.index)}{${literal[1]}}`;
        this.#literalRemaining = Number(literal[1]);
        continue;
      }
      const full = this.#currentLine + line;
      this.#currentLine = "";
      this.#onLine(full);
    }
  }

  #onLine(line: string): void {
    if (line.startsWith("* ") && this.#pending.length === 0) {
      this.#resolveGreeting(line);
      return;
    }
    const current = this.#pending[0];
    if (line.startsWith("+")) {
      current?.onContinuation?.();
      return;
    }
    if (line.startsWith("* ")) {
      current?.untagged.push(line);
      return;
    }
    const index = this.#pending.findIndex((p) => line.startsWith(`${p.tag} `));
    if (index < 0) return;
    const [done] = this.#pending.splice(index, 1);
    const status = line.slice(done!.tag.length + 1);
    done!.resolve({
      status: line,
      ok: status.startsWith("OK"),
      untagged: done!.untagged,
      bytes: done!.bytes,
    });
  }

  /** Sends `tag text` (and a literal, synchronizing unless the server has LITERAL+). */
  command(text: string, literal?: Buffer): Promise<ImapResponse> {
    const tag = `A${++this.#tagCounter}`;
    return new Promise((resolve, reject) => {
      const pending: Pending = { tag, resolve, reject, untagged: [], bytes: 0 };
      this.#pending.push(pending);
      if (!literal) {
        this.#socket.write(`${tag} ${text}\r\n`);
        return;
      }
      if (this.capabilities.has("LITERAL+")) {
        this.#socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
        this.#socket.write(literal);
        this.#socket.write("\r\n");
        return;
      }
      pending.onContinuation = () => {
        pending.onContinuation = undefined;
        this.#socket.write(literal);
        this.#socket.write("\r\n");
      };
      this.#socket.write(`${tag} ${text} {${literal.length}}\r\n`);
    });
  }

  async expectOk(text: string, literal?: Buffer): Promise<ImapResponse> {
    const response = await this.command(text, literal);
    if (!response.ok) throw new Error(`${text.split(" ")[0]} failed: ${response.status}`);
    return response;
  }

  async close(): Promise<void> {
    await this.command("LOGOUT").catch(() => {});
    this.#socket.destroy();
  }
}
