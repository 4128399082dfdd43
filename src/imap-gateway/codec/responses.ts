// Response lines (RFC 3501 section 7): status responses with optional codes, continuation requests,
// untagged data. Free text is sanitised so a message can never break the framing.

export type StatusCondition = "OK" | "NO" | "BAD" | "PREAUTH" | "BYE";

/**
 * A response code as it goes between brackets: a name and its already-encoded arguments,
 * e.g. `responseCode("APPENDUID", 38505, 3955)` → "APPENDUID 38505 3955".
 */
export function responseCode(name: string, ...args: ReadonlyArray<string | number | bigint>): string {
  return [name, ...args.map(String)].join(" ");
}

/** resp-text: no CR/LF/NUL, not empty, and not starting with "[" unless it is a code. */
export function sanitizeText(text: string): string {
  const clean = text.replace(/[\r\n\0]+/g, " ").trim();
  if (clean.length === 0) return "done";
  return clean.startsWith("[") ? ` ${clean}` : clean;
}

/** `tag SP cond SP [code] text CRLF`; tag "*" for untagged status. */
export function statusResponse(tag: string, condition: StatusCondition, text: string, code?: string): string {
  const bracket = code === undefined ? "" : `[${code.replace(/[\r\n\0\]]/g, " ")}] `;
  return `${tag} ${condition} ${bracket}${sanitizeText(text)}\r\n`;
}

export function taggedStatus(
  tag: string,
  condition: "OK" | "NO" | "BAD",
  text: string,
  code?: string,
): string {
  return statusResponse(tag, condition, text, code);
}

export function untaggedStatus(condition: StatusCondition, text: string, code?: string): string {
  return statusResponse("*", condition, text, code);
}

/** `+ text CRLF`: the go-ahead for a synchronizing literal or a SASL challenge (base64 text). */
export function continuationRequest(text = "Ready"): string {
  return `+ ${text.replace(/[\r\n\0]+/g, " ")}\r\n`;
}

/** `* ` + already-encoded data + CRLF, e.g. untaggedData("3 EXISTS"). */
export function untaggedData(...parts: ReadonlyArray<string | Buffer>): Buffer {
  return Buffer.concat([
    Buffer.from("* "),
    ...parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)),
    Buffer.from("\r\n"),
  ]);
}
