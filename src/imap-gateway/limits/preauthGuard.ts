// Cross-protocol and flooding guard for connections that have not authenticated yet
// (the ALPACA class of attacks: a browser or another protocol's client talking to the IMAP port).
// A line that cannot be an IMAP command closes the connection at once; so do too many
// commands per second or too many consecutive BADs.

import { type CommandFrame, isValidTag } from "../codec/index.ts";

export interface PreauthGuardLimits {
  readonly maxCommandsPerSecondBeforeAuth: number;
  readonly maxConsecutiveBadBeforeAuth: number;
}

export type GuardVerdict =
  | { readonly kind: "ok" }
  | { readonly kind: "bye"; readonly reason: "garbage" | "rate" | "bad"; readonly text: string };

const OK: GuardVerdict = { kind: "ok" };
const RATE_WINDOW_MS = 1000;

/** An HTTP request line (`GET / HTTP/1.1`) or header (`Host: x`), the usual cross-protocol payloads. */
const HTTP_REQUEST_RE = /^[A-Z]{3,10} \S+ HTTP\/\d/i;
const HEADER_RE = /^[A-Za-z][A-Za-z0-9-]*:(\s|$)/;
/** A command name is a keyword: letters, digits, '-' and '.' (extension names), nothing else. */
const COMMAND_NAME_RE = /^[A-Za-z][A-Za-z0-9.-]*$/;

/** Is this first line of a command plausibly IMAP? (tag SP command-name, printable US-ASCII) */
export function isPlausibleCommandLine(firstLine: Buffer): boolean {
  const head = firstLine.subarray(0, 512);
  for (const b of head) if (b < 0x20 || b === 0x7f) return false;
  const text = head.toString("latin1");
  if (HTTP_REQUEST_RE.test(text) || HEADER_RE.test(text)) return false;
  const [tag, name] = text.split(" ", 3);
  return isValidTag(tag) && name !== undefined && COMMAND_NAME_RE.test(name);
}

export class PreauthGuard {
  readonly #limits: PreauthGuardLimits;
  readonly #now: () => number;
  #windowStart = 0;
  #commandsInWindow = 0;
  #consecutiveBad = 0;

  constructor(limits: PreauthGuardLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Called for every command frame received before authentication. */
  onCommand(frame: CommandFrame): GuardVerdict {
    const now = this.#now();
    if (now - this.#windowStart >= RATE_WINDOW_MS) {
      this.#windowStart = now;
      this.#commandsInWindow = 0;
    }
    this.#commandsInWindow++;
    if (this.#commandsInWindow > this.#limits.maxCommandsPerSecondBeforeAuth) {
      return {
        kind: "bye",
        reason: "rate",
        text: `too many commands before authentication (limit ${this.#limits.maxCommandsPerSecondBeforeAuth}/s)`,
      };
    }
    const first = frame.segments[0];
    if (first === undefined || !isPlausibleCommandLine(first)) {
      return { kind: "bye", reason: "garbage", text: "this is an IMAP server; that was not an IMAP command" };
    }
    return OK;
  }

  onBad(): GuardVerdict {
    this.#consecutiveBad++;
    if (this.#consecutiveBad >= this.#limits.maxConsecutiveBadBeforeAuth) {
      return {
        kind: "bye",
        reason: "bad",
        text: `too many invalid commands before authentication (${this.#consecutiveBad})`,
      };
    }
    return OK;
  }

  onGood(): void {
    this.#consecutiveBad = 0;
  }
}
