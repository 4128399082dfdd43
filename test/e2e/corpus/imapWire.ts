// A pipelining IMAP client for the corpus test that keeps every response byte: each untagged
// response is handed back whole (literals inline), and parseFetch reads a FETCH response into a
// tree of atoms, strings (as the exact bytes sent) and lists, independently of the server's
// encoder.
import net from "node:net";

export interface TaggedResult {
  /** The tagged status line, e.g. "A12 OK FETCH completed". */
  status: string;
  ok: boolean;
  /** Untagged responses, each the full bytes from "* " up to (not including) its final CRLF. */
  untagged: Buffer[];
}

interface Pending {
  tag: string;
  untagged: Buffer[];
  resolve: (result: TaggedResult) => void;
  reject: (error: Error) => void;
}

export class WireClient {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  /** Where the scan for the end of the current response resumes (past any literal). */
  #scanFrom = 0;
  #pending: Pending[] = [];
  #tagCounter = 0;
  #greeting: Promise<Buffer>;
  #onGreeting!: (line: Buffer) => void;
  #error: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#greeting = new Promise((resolve) => {
      this.#onGreeting = resolve;
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(new Error("connection closed")));
  }

  static async connect(host: string, port: number): Promise<{ client: WireClient; greeting: Buffer }> {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new WireClient(socket);
    return { client, greeting: await client.#greeting };
  }

  #fail(error: Error): void {
    this.#error ??= error;
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const end = this.#buffer.indexOf("\r\n", this.#scanFrom);
      if (end < 0) return;
      // A line ending in {n} announces n literal bytes that belong to the same response.
      const literal = /\{(\d+)\}$/.exec(this.#buffer.subarray(Math.max(0, end - 24), end).toString("latin1"));
      if (literal) {
        const after = end + 2 + Number(literal[1]);
        if (this.#buffer.length < after) return;
        this.#scanFrom = after;
        continue;
      }
      const response = this.#buffer.subarray(0, end);
      this.#buffer = this.#buffer.subarray(end + 2);
      this.#scanFrom = 0;
      this.#onResponse(response);
    }
  }

  #onResponse(response: Buffer): void {
    if (response[0] === 0x2a /* * */) {
      const current = this.#pending[0];
      if (current) current.untagged.push(Buffer.from(response));
      else this.#onGreeting(Buffer.from(response));
      return;
    }
    if (response[0] === 0x2b /* + */) return;
    const line = response.toString("latin1");
    const index = this.#pending.findIndex((p) => line.startsWith(`${p.tag} `));
    if (index < 0) return;
    const [done] = this.#pending.splice(index, 1);
    done!.resolve({ status: line, ok: line.startsWith(`${done!.tag} OK`), untagged: done!.untagged });
  }

  /**
   * Sends `tag text` and, if given, a literal as LITERAL+ (RFC 7888), so any number of commands
   * can be in flight on the connection.
   */
  command(text: string, literal?: Buffer): Promise<TaggedResult> {
    if (this.#error) return Promise.reject(this.#error);
    const tag = `C${++this.#tagCounter}`;
    return new Promise((resolve, reject) => {
      this.#pending.push({ tag, untagged: [], resolve, reject });
      if (literal) {
        this.#socket.write(
          Buffer.concat([
            Buffer.from(`${tag} ${text} {${literal.length}+}\r\n`),
            literal,
            Buffer.from("\r\n"),
          ]),
        );
      } else {
        this.#socket.write(`${tag} ${text}\r\n`);
      }
    });
  }

  async expectOk(text: string, literal?: Buffer): Promise<TaggedResult> {
    const result = await this.command(text, literal);
    if (!result.ok) throw new Error(`${text.slice(0, 60)} → ${result.status}`);
    return result;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** A parsed response value: NIL, an atom, a string (quoted or literal, as its bytes), a list. */
export type WireValue = null | { atom: string } | Buffer | WireValue[];

export function isAtom(value: WireValue | undefined): value is { atom: string } {
  return value !== null && value !== undefined && !Buffer.isBuffer(value) && !Array.isArray(value);
}

class Reader {
  position = 0;
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  fail(what: string): never {
    const near = this.bytes.subarray(Math.max(0, this.position - 30), this.position + 30).toString("latin1");
    throw new Error(`${what} at ${this.position} near ${JSON.stringify(near)}`);
  }

  peek(): number {
    return this.bytes[this.position] ?? -1;
  }

  skipSpaces(): void {
    while (this.peek() === 0x20) this.position++;
  }

  value(): WireValue {
    this.skipSpaces();
    const c = this.peek();
    if (c === 0x28 /* ( */) {
      this.position++;
      const items: WireValue[] = [];
      for (;;) {
        this.skipSpaces();
        if (this.peek() === 0x29 /* ) */) {
          this.position++;
          return items;
        }
        if (this.peek() === -1) this.fail("unterminated list");
        items.push(this.value());
      }
    }
    if (c === 0x22 /* " */) {
      this.position++;
      const out: number[] = [];
      for (;;) {
        const b = this.peek();
        if (b === -1) this.fail("unterminated quoted string");
        this.position++;
        if (b === 0x22) return Buffer.from(out);
        if (b === 0x5c /* \ */) {
          out.push(this.peek());
          this.position++;
        } else out.push(b);
      }
    }
    if (c === 0x7b /* { */) {
      const close = this.bytes.indexOf("}\r\n", this.position);
      if (close < 0) this.fail("bad literal");
      const size = Number(this.bytes.subarray(this.position + 1, close).toString("latin1"));
      const start = close + 3;
      this.position = start + size;
      return Buffer.from(this.bytes.subarray(start, start + size));
    }
    // An atom; a section spec in brackets may hold spaces and parentheses.
    const start = this.position;
    for (;;) {
      const b = this.peek();
      if (b === -1 || b === 0x20 || b === 0x28 || b === 0x29) break;
      if (b === 0x5b /* [ */) {
        const close = this.bytes.indexOf("]", this.position);
        if (close < 0) this.fail("unterminated section");
        this.position = close + 1;
        continue;
      }
      this.position++;
    }
    if (this.position === start) this.fail("expected a value");
    const atom = this.bytes.subarray(start, this.position).toString("latin1");
    return atom.toUpperCase() === "NIL" ? null : { atom };
  }
}

/** Reads `* n FETCH (k v k v ...)` into its sequence number and a map of item name → value. */
export function parseFetch(response: Buffer): { seq: number; items: Map<string, WireValue> } | undefined {
  const head = /^\* (\d+) FETCH /i.exec(response.subarray(0, 40).toString("latin1"));
  if (!head) return undefined;
  const reader: Reader = new Reader(response);
  reader.position = head[0].length;
  const list = reader.value();
  reader.skipSpaces();
  if (reader.position !== response.length) reader.fail("trailing bytes after FETCH");
  if (!Array.isArray(list) || list.length % 2 !== 0) reader.fail("FETCH data is not a list of pairs");
  const items = new Map<string, WireValue>();
  for (let i = 0; i < list.length; i += 2) {
    const key = list[i];
    if (!isAtom(key)) throw new Error(`FETCH item name is not an atom: ${String(key)}`);
    items.set(key.atom.toUpperCase(), list[i + 1]!);
  }
  return { seq: Number(head[1]), items };
}

export function text(value: WireValue | undefined, encoding: BufferEncoding = "utf8"): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString(encoding);
  if (isAtom(value)) return value.atom;
  throw new Error("expected a string, got a list");
}
