// The debug wire log: both directions of one session, one line per command or response, with
// passwords and SASL payloads redacted. Switched on per user or globally at runtime (server.setDebug).

import type { CommandFrame, LiteralValue, ResponsePart } from "../codec/index.ts";

/** Longest text shown for one literal or response piece; the rest is summarised. */
const MAX_SHOWN = 2048;
const REDACTED = "<redacted>";

function show(bytes: Buffer): string {
  const text = bytes.subarray(0, MAX_SHOWN).toString("latin1");
  // Control and 8-bit octets as \xNN so one log line stays one line and shows what was sent.
  const escaped = text.replace(/[\x00-\x1f\x7f-\xff\\]/g, (c) =>
    c === "\\" ? "\\\\" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return bytes.length > MAX_SHOWN ? `${escaped}<... ${bytes.length - MAX_SHOWN} more octets>` : escaped;
}

function showLiteral(literal: LiteralValue | undefined): string {
  if (literal === undefined) return "";
  if (literal.kind === "streamed") return `<literal of ${literal.size} octets streamed>`;
  return show(literal.data);
}

/** A client command as it goes in the log: LOGIN's password and AUTHENTICATE's payload hidden. */
export function describeClientFrame(frame: CommandFrame): string {
  const name = frame.name;
  const first = frame.segments[0] ?? Buffer.alloc(0);
  if (name === "LOGIN") {
    // tag LOGIN user password: keep tag, name and the first word of the user name when it is inline.
    const words = first.toString("latin1").split(" ");
    const user = words[2] !== undefined && !words[2].startsWith("{") ? words[2] : "<literal>";
    return `${words[0] ?? ""} LOGIN ${show(Buffer.from(user, "latin1"))} ${REDACTED}`;
  }
  if (name === "AUTHENTICATE") {
    const words = first.toString("latin1").split(" ");
    const rest = words.length > 3 ? ` ${REDACTED}` : "";
    return `${words
      .slice(0, 3)
      .map((w) => show(Buffer.from(w, "latin1")))
      .join(" ")}${rest}`;
  }
  const parts: string[] = [];
  frame.segments.forEach((segment, i) => {
    parts.push(show(segment));
    if (i < frame.literals.length) parts.push(`\\x0d\\x0a${showLiteral(frame.literals[i])}`);
  });
  return parts.join("");
}

export function describeServerParts(parts: readonly ResponsePart[]): string {
  return parts
    .map((part) => {
      if (typeof part === "string") return show(Buffer.from(part, "latin1"));
      if (Buffer.isBuffer(part)) return show(part);
      return `{${part.size}}\\x0d\\x0a<literal of ${part.size} octets streamed>`;
    })
    .join("")
    .replace(/\\x0d\\x0a$/, "");
}

export type WireDirection = "C" | "S";

export type WireLogSink = (line: string) => void;

export function wireLine(sessionId: string, direction: WireDirection, text: string): string {
  return `${new Date().toISOString()} ${sessionId} ${direction}: ${text}`;
}

export { REDACTED };
