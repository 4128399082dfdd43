// A strict parser of what an IMAP server sends (RFC 3501 section 9, with the response forms of the
// extensions mailledger offers), for the live fuzzer: it reads a byte stream into responses and
// throws ResponseSyntaxError at the first byte that breaks the grammar. Strict where clients are
// strict: quoted strings (no CR, LF or NUL, only \" and \\ escaped), literals of exactly their
// announced size, balanced lists, single spaces, status responses with a text, FETCH items of
// known names with values of their kind, an INTERNALDATE in its one format, ENVELOPE's ten fields.

export class ResponseSyntaxError extends Error {
  override readonly name = "ResponseSyntaxError";
}

export type Value = string | number | null | Value[] | { literal: Buffer };

export interface ParsedResponse {
  kind: "tagged" | "untagged" | "continuation";
  tag?: string;
  /** OK/NO/BAD/BYE/PREAUTH, or the data keyword (FETCH, LIST, ...). */
  word: string;
  /** The whole response as text (literals shown as {n}). */
  text: string;
}

const ATOM_CHAR = /[^\x00-\x20\x7f(){%*"\\\]]/;
const TAG_RE = /^[^\x00-\x20\x7f(){%*"\\+]+$/;
const DATE_TIME_RE =
  /^"[ 0-3]\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"$/;
const STATUS_WORDS = new Set(["OK", "NO", "BAD"]);
const FETCH_NUMBER_ITEMS = new Set(["UID", "RFC822.SIZE"]);

class Reader {
  pos = 0;
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  peek(): number {
    return this.bytes[this.pos] ?? -1;
  }
  fail(what: string): never {
    const from = Math.max(0, this.pos - 40);
    const context = this.bytes.subarray(from, this.pos + 40).toString("latin1");
    throw new ResponseSyntaxError(`${what} at byte ${this.pos}: ${JSON.stringify(context)}`);
  }
  /** Not enough bytes yet: the caller waits for more. */
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new Incomplete();
  }
  expect(text: string): void {
    this.need(text.length);
    if (this.bytes.toString("latin1", this.pos, this.pos + text.length) !== text)
      this.fail(`expected ${JSON.stringify(text)}`);
    this.pos += text.length;
  }
  sp(): void {
    this.expect(" ");
  }
  crlf(): void {
    this.expect("\r\n");
  }
  /** Characters up to CRLF, none of them CR, LF or NUL. */
  textToEol(): string {
    const end = this.bytes.indexOf("\r\n", this.pos, "latin1");
    if (end < 0) {
      if (this.bytes.indexOf(0x0a, this.pos) >= 0) this.fail("bare LF");
      throw new Incomplete();
    }
    const text = this.bytes.toString("utf8", this.pos, end);
    if (/[\r\n\x00]/.test(text)) this.fail("CR, LF or NUL in text");
    this.pos = end;
    return text;
  }
  atom(extra = "", stop = ""): string {
    const start = this.pos;
    for (;;) {
      this.need(1);
      const ch = String.fromCharCode(this.peek());
      if (stop.includes(ch) || !(ATOM_CHAR.test(ch) || extra.includes(ch))) break;
      this.pos++;
    }
    if (this.pos === start) this.fail("expected an atom");
    return this.bytes.toString("latin1", start, this.pos);
  }
  number(): number {
    const start = this.pos;
    for (;;) {
      this.need(1);
      const c = this.peek();
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    if (this.pos === start) this.fail("expected a number");
    const n = Number(this.bytes.toString("latin1", start, this.pos));
    if (!Number.isSafeInteger(n)) this.fail("number out of range");
    return n;
  }
  quoted(): string {
    this.expect('"');
    let out = "";
    for (;;) {
      this.need(1);
      const c = this.bytes[this.pos++]!;
      if (c === 0x22) return out;
      if (c === 0x0d || c === 0x0a || c === 0x00) {
        this.pos--;
        this.fail("CR, LF or NUL in a quoted string");
      }
      if (c === 0x5c) {
        this.need(1);
        const next = this.bytes[this.pos++]!;
        if (next !== 0x22 && next !== 0x5c) {
          this.pos--;
          this.fail('a quoted string escapes only " and \\');
        }
        out += String.fromCharCode(next);
      } else {
        out += String.fromCharCode(c);
      }
    }
  }
  literal(): { literal: Buffer } {
    if (this.peek() === 0x7e) this.pos++; // literal8 (RFC 3516)
    this.expect("{");
    const size = this.number();
    this.expect("}");
    this.crlf();
    this.need(size);
    const literal = this.bytes.subarray(this.pos, this.pos + size);
    this.pos += size;
    return { literal };
  }
  /** string / NIL / number / list / atom, as a generic IMAP value. */
  value(): Value {
    this.need(1);
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || c === 0x7e) return this.literal();
    if (c === 0x28) return this.list();
    if (c >= 0x30 && c <= 0x39) {
      const start = this.pos;
      const n = this.number();
      this.need(1);
      if (ATOM_CHAR.test(String.fromCharCode(this.peek()))) {
        this.pos = start;
        return this.atom("]");
      }
      return n;
    }
    if (c === 0x5c) {
      this.pos++;
      return `\\${this.atom()}`;
    }
    const word = this.atom("[]<>.");
    return word === "NIL" ? null : word;
  }
  list(): Value[] {
    this.expect("(");
    const items: Value[] = [];
    this.need(1);
    if (this.peek() === 0x29) {
      this.pos++;
      return items;
    }
    for (;;) {
      const item = this.value();
      items.push(item);
      this.need(1);
      if (this.peek() === 0x29) {
        this.pos++;
        return items;
      }
      // A multipart BODYSTRUCTURE's parts follow each other with no space (RFC 3501 body-type-mpart).
      if (Array.isArray(item) && this.peek() === 0x28) continue;
      this.sp();
    }
  }
  nstring(): string | Buffer | null {
    this.need(1);
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || c === 0x7e) return this.literal().literal;
    this.expect("NIL");
    return null;
  }
}

class Incomplete extends Error {}

function respText(r: Reader): void {
  r.need(1);
  if (r.peek() === 0x5b) {
    r.pos++;
    r.atom();
    r.need(1);
    if (r.peek() === 0x20) {
      // A code's arguments: anything but "]" and CRLF.
      const end = r.bytes.indexOf("]", r.pos, "latin1");
      const eol = r.bytes.indexOf("\r\n", r.pos, "latin1");
      if (end < 0 || (eol >= 0 && eol < end)) {
        if (eol < 0) throw new Incomplete();
        r.fail("unterminated response code");
      }
      r.pos = end;
    }
    r.expect("]");
    r.need(2);
    if (r.peek() === 0x0d) return; // RFC 3501 wants a text; RFC 9051 makes it optional after a code.
    r.sp();
  }
  const text = r.textToEol();
  if (text.length === 0) r.fail("a status response without text");
}

function flagList(r: Reader): void {
  const items = r.list();
  for (const item of items) {
    if (typeof item !== "string" || !/^(\\?[^\x00-\x20\x7f(){%*"\\\]]+|\\\*)$/.test(item)) {
      r.fail(`not a flag: ${JSON.stringify(item)}`);
    }
  }
}

function envelope(r: Reader): void {
  r.expect("(");
  for (let field = 0; field < 10; field++) {
    if (field > 0) r.sp();
    if (field >= 2 && field <= 7) {
      r.need(1);
      if (r.peek() === 0x28) {
        r.pos++;
        for (let first = true; ; first = false) {
          r.need(1);
          if (r.peek() === 0x29) {
            if (first) r.fail("an empty address list is NIL");
            r.pos++;
            break;
          }
          r.expect("(");
          for (let part = 0; part < 4; part++) {
            if (part > 0) r.sp();
            r.nstring();
          }
          r.expect(")");
        }
      } else {
        r.expect("NIL");
      }
    } else {
      r.nstring();
    }
  }
  r.expect(")");
}

/** BODY[HEADER.FIELDS (A B)]<0>: an atom, a section in brackets (spaces allowed), a partial. */
function fetchItemName(r: Reader): string {
  let name = r.atom("", "[").toUpperCase();
  r.need(1);
  if (r.peek() === 0x5b) {
    const end = r.bytes.indexOf("]", r.pos, "latin1");
    const eol = r.bytes.indexOf("\r\n", r.pos, "latin1");
    if (end < 0 || (eol >= 0 && eol < end)) {
      if (eol < 0) throw new Incomplete();
      r.fail("unterminated section");
    }
    name += r.bytes.toString("latin1", r.pos, end + 1).toUpperCase();
    r.pos = end + 1;
    r.need(1);
    if (r.peek() === 0x3c) {
      r.pos++;
      name += `<${r.number()}>`;
      r.expect(">");
    }
  }
  return name;
}

function fetchAttributes(r: Reader): void {
  r.expect("(");
  for (let first = true; ; first = false) {
    r.need(1);
    if (r.peek() === 0x29) {
      if (first) r.fail("an empty FETCH response");
      r.pos++;
      return;
    }
    if (!first) r.sp();
    const name = fetchItemName(r);
    r.sp();
    const base = name.replace(/\[.*$/, "");
    if (name === "FLAGS") flagList(r);
    else if (FETCH_NUMBER_ITEMS.has(name) || base === "BINARY.SIZE") r.number();
    else if (name === "INTERNALDATE") {
      const start = r.pos;
      r.quoted();
      const text = r.bytes.toString("latin1", start, r.pos);
      if (!DATE_TIME_RE.test(text)) r.fail(`INTERNALDATE ${text}`);
    } else if (name === "MODSEQ") {
      r.expect("(");
      r.number();
      r.expect(")");
    } else if (name === "ENVELOPE") envelope(r);
    else if (name === "BODY" || name === "BODYSTRUCTURE") {
      const structure = r.list();
      if (structure.length < 2) r.fail("a body structure has at least two fields");
    } else if (/^(BODY|BINARY)\[[^\]]*\](<\d+>)?$/.test(name) || /^RFC822(\.HEADER|\.TEXT)?$/.test(name)) {
      r.nstring();
    } else if (name === "EMAILID" || name === "THREADID") {
      r.need(1);
      if (r.peek() === 0x28) {
        r.pos++;
        r.atom();
        r.expect(")");
      } else {
        r.expect("NIL");
      }
    } else r.fail(`unknown FETCH item ${name}`);
  }
}

/** The rest of an untagged data response after its keyword: generic values, single-spaced. */
function genericRest(r: Reader): void {
  for (;;) {
    r.need(2);
    if (r.peek() === 0x0d) return;
    r.sp();
    r.value();
  }
}

function untagged(r: Reader): string {
  r.need(1);
  const c = r.peek();
  if (c >= 0x30 && c <= 0x39) {
    r.number();
    r.sp();
    const word = r.atom().toUpperCase();
    if (word === "FETCH") {
      r.sp();
      fetchAttributes(r);
    } else if (word !== "EXISTS" && word !== "RECENT" && word !== "EXPUNGE")
      r.fail(`unknown message data ${word}`);
    return word;
  }
  const word = r.atom().toUpperCase();
  if (STATUS_WORDS.has(word) || word === "BYE" || word === "PREAUTH") {
    r.sp();
    respText(r);
    return word;
  }
  switch (word) {
    case "CAPABILITY": {
      const caps: string[] = [];
      for (;;) {
        r.need(2);
        if (r.peek() === 0x0d) break;
        r.sp();
        caps.push(r.atom("]"));
      }
      if (!caps.includes("IMAP4rev1")) r.fail("CAPABILITY without IMAP4rev1");
      return word;
    }
    case "FLAGS":
      r.sp();
      flagList(r);
      return word;
    case "LIST":
    case "LSUB": {
      r.sp();
      flagList(r);
      r.sp();
      r.need(1);
      if (r.peek() === 0x22) r.quoted();
      else r.expect("NIL");
      r.sp();
      const name = r.value();
      if (typeof name !== "string" && !(name && typeof name === "object" && "literal" in name)) {
        r.fail("a mailbox name is a string");
      }
      genericRest(r);
      return word;
    }
    case "STATUS": {
      r.sp();
      r.value();
      r.sp();
      const items = r.list();
      if (items.length % 2 !== 0) r.fail("STATUS items come in pairs");
      for (let i = 0; i < items.length; i += 2) {
        if (typeof items[i] !== "string" || typeof items[i + 1] !== "number")
          r.fail("STATUS item is a name and a number");
      }
      return word;
    }
    case "THREAD": {
      // thread-data = "THREAD" [SP 1*thread-list]: the lists follow each other with no space.
      r.need(2);
      if (r.peek() === 0x0d) return word;
      r.sp();
      for (;;) {
        r.list();
        r.need(1);
        if (r.peek() !== 0x28) return word;
      }
    }
    case "SEARCH":
    case "SORT": {
      for (;;) {
        r.need(2);
        if (r.peek() === 0x0d) return word;
        r.sp();
        r.need(1);
        if (r.peek() === 0x28) {
          r.expect("(MODSEQ ");
          r.number();
          r.expect(")");
        } else r.number();
      }
    }
    default:
      genericRest(r);
      return word;
  }
}

/**
 * Parses as many complete responses as `bytes` holds; returns them and how many bytes they took.
 * Throws ResponseSyntaxError on the first violation.
 */
export function parseResponses(bytes: Buffer): { responses: ParsedResponse[]; consumed: number } {
  const responses: ParsedResponse[] = [];
  let consumed = 0;
  for (;;) {
    const r = new Reader(bytes);
    r.pos = consumed;
    if (r.done) break;
    try {
      let parsed: ParsedResponse;
      if (r.peek() === 0x2b) {
        r.pos++;
        r.need(2);
        if (r.peek() !== 0x0d) {
          r.sp();
          r.textToEol();
        }
        parsed = { kind: "continuation", word: "+", text: "" };
      } else if (r.peek() === 0x2a) {
        r.pos++;
        r.sp();
        parsed = { kind: "untagged", word: untagged(r), text: "" };
      } else {
        const tag = r.atom("]+");
        if (!TAG_RE.test(tag)) r.fail(`not a tag: ${tag}`);
        r.sp();
        const word = r.atom();
        if (!STATUS_WORDS.has(word)) r.fail(`a tagged response is OK, NO or BAD, not ${word}`);
        r.sp();
        respText(r);
        parsed = { kind: "tagged", tag, word, text: "" };
      }
      r.crlf();
      parsed.text = bytes.toString("latin1", consumed, r.pos);
      responses.push(parsed);
      consumed = r.pos;
    } catch (error) {
      if (error instanceof Incomplete) break;
      throw error;
    }
  }
  return { responses, consumed };
}
