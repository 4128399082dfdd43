// A cursor over one CommandFrame with the RFC 3501 lexical rules (atom, quoted, literal, astring, ...).
//
// Errors are raised as ParseError and caught in parseCommand, which turns them into values: this keeps
// the grammar code linear without letting any exception escape the parser.

import type { CommandFrame, LiteralValue } from "./frame.ts";
import { DEFAULT_MAX_NESTING_DEPTH, MAX_MODSEQ, MAX_UINT32 } from "./limits.ts";
import { parseLiteralMarker } from "./reader.ts";

export class ParseError extends Error {
  override readonly name = "ParseError";
  /** Response code the session should attach (e.g. BADCHARSET), if any. */
  readonly code: string | undefined;
  /**
   * BAD for a command that breaks the grammar. NO for one that is well-formed but cannot be done
   * as asked: a charset the server lacks (BADCHARSET), a literal too large (TOOBIG), a mailbox
   * name no mailbox can have.
   */
  readonly status: "BAD" | "NO";
  constructor(message: string, code?: string, status?: "BAD" | "NO") {
    super(message);
    this.code = code;
    this.status = status ?? (code?.startsWith("BADCHARSET") || code === "TOOBIG" ? "NO" : "BAD");
  }
}

export interface ParseOptions {
  /** RFC 6855 UTF8=ACCEPT is enabled: 8-bit UTF-8 allowed in quoted strings, mailbox names are UTF-8. */
  readonly utf8Accept?: boolean;
  readonly maxNestingDepth?: number;
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

// RFC 3501 atom-specials: ( ) { SP CTL % * " \ ]  (and 8-bit, which is not CHAR).
function isAtomSpecial(b: number): boolean {
  return (
    b <= 0x20 ||
    b >= 0x7f ||
    b === 0x28 ||
    b === 0x29 ||
    b === 0x7b ||
    b === 0x25 ||
    b === 0x2a ||
    b === DQUOTE ||
    b === BACKSLASH ||
    b === 0x5d
  );
}
export function isAtomChar(b: number): boolean {
  return !isAtomSpecial(b);
}
/** ASTRING-CHAR = ATOM-CHAR / "]" */
export function isAStringChar(b: number): boolean {
  return isAtomChar(b) || b === 0x5d;
}
/** list-char = ATOM-CHAR / list-wildcards / resp-specials */
function isListChar(b: number): boolean {
  return isAStringChar(b) || b === 0x25 || b === 0x2a;
}

const LITERAL_MARKER_RE = /^\{\d+[+-]?\}$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export class Scanner {
  readonly #frame: CommandFrame;
  #seg = 0;
  #pos = 0;
  readonly utf8Accept: boolean;
  readonly maxDepth: number;
  /**
   * A refusal found while parsing a well-formed command (a mailbox name that is not valid
   * modified UTF-7): answered NO once the whole command has parsed, so that a command that is
   * also malformed further on still gets BAD.
   */
  refusal: ParseError | undefined;

  constructor(frame: CommandFrame, options: ParseOptions = {}) {
    this.#frame = frame;
    this.utf8Accept = options.utf8Accept ?? false;
    this.maxDepth = options.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
  }

  get #line(): Buffer {
    return this.#frame.segments[this.#seg] ?? Buffer.alloc(0);
  }

  /** Next byte in the current line, or -1 at its end (end of command or before a literal's content). */
  peek(offset = 0): number {
    return this.#line[this.#pos + offset] ?? -1;
  }

  atEnd(): boolean {
    return this.#seg >= this.#frame.segments.length - 1 && this.#pos >= this.#line.length;
  }

  fail(message: string, code?: string): never {
    throw new ParseError(message, code);
  }

  /** Records the first refusal (see `refusal`); parsing goes on. */
  refuse(message: string, code: string): void {
    this.refusal ??= new ParseError(message, code, "NO");
  }

  /** Short description of what is at the cursor, for error messages. */
  describeHere(): string {
    if (this.atEnd()) return "end of command";
    const rest = this.#line.subarray(this.#pos, this.#pos + 20).toString("latin1");
    return JSON.stringify(rest);
  }

  expectEnd(): void {
    if (!this.atEnd()) this.fail(`unexpected ${this.describeHere()} after the arguments`);
  }

  tryByte(b: number): boolean {
    if (this.peek() === b) {
      this.#pos++;
      return true;
    }
    return false;
  }

  expectByte(b: number, what: string): void {
    if (!this.tryByte(b)) this.fail(`expected ${what}, got ${this.describeHere()}`);
  }

  sp(): void {
    if (!this.tryByte(SP)) this.fail(`expected a space, got ${this.describeHere()}`);
  }

  trySp(): boolean {
    return this.tryByte(SP);
  }

  /** Consumes a run of bytes accepted by `accept` (possibly empty), as latin1 text. */
  takeWhile(accept: (b: number) => boolean): string {
    const line = this.#line;
    const start = this.#pos;
    let end = start;
    while (end < line.length && accept(line[end]!)) end++;
    this.#pos = end;
    return line.toString("latin1", start, end);
  }

  atom(what = "atom"): string {
    const atom = this.takeWhile(isAtomChar);
    if (atom.length === 0) this.fail(`expected ${what}, got ${this.describeHere()}`);
    return atom;
  }

  /** An atom compared case-insensitively: command names, keywords. */
  keyword(what = "keyword"): string {
    return this.atom(what).toUpperCase();
  }

  /** Is the next thing the keyword `word` (followed by a delimiter)? Consumes it if so. */
  tryKeyword(word: string): boolean {
    const line = this.#line;
    const end = this.#pos + word.length;
    if (end > line.length) return false;
    if (line.toString("latin1", this.#pos, end).toUpperCase() !== word) return false;
    const after = line[end];
    if (after !== undefined && isAtomChar(after)) return false;
    this.#pos = end;
    return true;
  }

  number(what = "number"): number {
    const digits = this.takeWhile(isDigit);
    if (digits.length === 0) this.fail(`expected ${what}, got ${this.describeHere()}`);
    const value = digits.length > 10 ? Number.POSITIVE_INFINITY : Number(digits);
    if (value > MAX_UINT32) this.fail(`${what} ${digits.slice(0, 24)} exceeds 4294967295`);
    return value;
  }

  nzNumber(what = "number"): number {
    const n = this.number(what);
    if (n === 0) this.fail(`${what} must not be 0`);
    return n;
  }

  /** RFC 7162 mod-sequence-value (zero allowed when `allowZero`). */
  modSeq(allowZero: boolean, what = "mod-sequence"): bigint {
    const digits = this.takeWhile(isDigit);
    if (digits.length === 0) this.fail(`expected ${what}, got ${this.describeHere()}`);
    if (digits.length > 19) this.fail(`${what} too large`);
    const value = BigInt(digits);
    if (value > MAX_MODSEQ) this.fail(`${what} too large`);
    if (!allowZero && value === 0n) this.fail(`${what} must not be 0`);
    return value;
  }

  isLiteralStart(): boolean {
    return this.peek() === 0x7b || (this.peek() === 0x7e && this.peek(1) === 0x7b);
  }

  /** A literal `{n}` (or literal8 `~{n}` when `allowBinary`) whose content follows the current line. */
  literal(allowBinary = false): { value: LiteralValue; binary: boolean } {
    const binary = this.tryByte(0x7e);
    if (binary && !allowBinary) this.fail("literal8 (~{n}) not allowed here");
    // The marker must be all that is left of the line: the literal's content follows it.
    const rest = this.#line.subarray(this.#pos);
    const marker = rest[0] === 0x7b ? parseLiteralMarker(rest) : undefined;
    const markerOnly = marker !== undefined && LITERAL_MARKER_RE.test(rest.toString("latin1"));
    const value = this.#frame.literals[this.#seg];
    if (!markerOnly || value === undefined) this.fail(`expected a literal, got ${this.describeHere()}`);
    const size = value.kind === "buffered" ? value.data.length : value.size;
    if (marker.size !== size) this.fail("literal size does not match its content");
    this.#seg++;
    this.#pos = 0;
    return { value, binary };
  }

  /** Literal content as bytes; streamed literals are only acceptable where the grammar says so (APPEND). */
  literalBytes(): Buffer {
    const { value } = this.literal();
    if (value.kind !== "buffered") this.fail("literal too large for this argument", "TOOBIG");
    return value.data;
  }

  quotedBytes(): Buffer {
    this.expectByte(DQUOTE, "a quoted string");
    const line = this.#line;
    const out: number[] = [];
    for (;;) {
      const b = line[this.#pos];
      if (b === undefined) this.fail("unterminated quoted string");
      this.#pos++;
      if (b === DQUOTE) break;
      if (b === BACKSLASH) {
        const escaped = line[this.#pos];
        if (escaped !== DQUOTE && escaped !== BACKSLASH)
          this.fail('invalid escape in quoted string (only \\" and \\\\)');
        this.#pos++;
        out.push(escaped);
        continue;
      }
      if (b === 0) this.fail("NUL in quoted string");
      if (b >= 0x80 && !this.utf8Accept) this.fail("8-bit character in quoted string");
      out.push(b);
    }
    return Buffer.from(out);
  }

  /** string = quoted / literal */
  stringBytes(what = "string"): Buffer {
    if (this.peek() === DQUOTE) return this.quotedBytes();
    if (this.peek() === 0x7b) return this.literalBytes();
    return this.fail(`expected ${what} (quoted or literal), got ${this.describeHere()}`);
  }

  /** astring = 1*ASTRING-CHAR / string */
  astringBytes(what = "astring"): Buffer {
    const b = this.peek();
    if (b === DQUOTE || b === 0x7b) return this.stringBytes(what);
    const atom = this.takeWhile(isAStringChar);
    if (atom.length === 0) this.fail(`expected ${what}, got ${this.describeHere()}`);
    return Buffer.from(atom, "latin1");
  }

  astring(what = "astring"): string {
    return this.decodeText(this.astringBytes(what), what);
  }

  string(what = "string"): string {
    return this.decodeText(this.stringBytes(what), what);
  }

  /** nstring = string / NIL */
  nstring(what = "string"): string | null {
    if (this.tryKeyword("NIL")) return null;
    return this.string(what);
  }

  /** list-mailbox = 1*list-char / string (LIST/LSUB patterns keep % and *). */
  listMailboxBytes(): Buffer {
    const b = this.peek();
    if (b === DQUOTE || b === 0x7b) return this.stringBytes("mailbox pattern");
    const atom = this.takeWhile(isListChar);
    if (atom.length === 0) this.fail(`expected a mailbox pattern, got ${this.describeHere()}`);
    return Buffer.from(atom, "latin1");
  }

  /** Text from the wire: must be valid UTF-8 (ASCII included). */
  decodeText(bytes: Buffer, what: string): string {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  /** Runs `body` one nesting level deeper, refusing input nested beyond maxDepth. */
  nested<T>(depth: number, body: () => T): T {
    if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    return body();
  }

  /** `(` item *(SP item) `)`; `allowEmpty` for `()`. */
  list<T>(item: () => T, what: string, allowEmpty = false): T[] {
    this.expectByte(0x28, `"(" to start ${what}`);
    const items: T[] = [];
    if (this.tryByte(0x29)) {
      if (!allowEmpty) this.fail(`empty ${what}`);
      return items;
    }
    for (;;) {
      items.push(item());
      if (this.tryByte(0x29)) return items;
      this.sp();
    }
  }
}

export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
