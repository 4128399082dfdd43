// What the reader hands to the parser: one complete command as it came off the wire.

/** A literal's content: small ones are buffered, large ones went to a sink the caller supplied. */
export type LiteralValue =
  | { readonly kind: "buffered"; readonly data: Buffer; readonly nonSync: boolean }
  | { readonly kind: "streamed"; readonly size: number; readonly handle: unknown; readonly nonSync: boolean };

/**
 * One command: `segments[i]` is a line (CRLF stripped); every segment but the last ends with a
 * literal marker `{n}`, `{n+}` or `{n-}` whose content is `literals[i]`.
 */
export interface CommandFrame {
  readonly segments: readonly Buffer[];
  readonly literals: readonly LiteralValue[];
  /** Tag as sent (first word of the first line), if there was one. */
  readonly tag: string | undefined;
  /** Upper-cased command name, `UID FETCH` style for UID commands; undefined if absent. */
  readonly name: string | undefined;
}

/** The whole line of a frame without literals, for lines read outside the command grammar (IDLE's DONE, SASL responses). */
export function frameLine(frame: CommandFrame): string {
  return frame.segments.length === 1 ? frame.segments[0]!.toString("latin1") : "";
}

/** True for the `DONE` line that ends IDLE (RFC 2177), case-insensitively. */
export function isIdleDone(frame: CommandFrame): boolean {
  return frame.literals.length === 0 && frameLine(frame).toUpperCase() === "DONE";
}

/** Splits `tag SP name [SP name2]` off the start of a line; the reader needs the name to pick literal limits. */
export function peekTagAndName(line: Buffer): { tag: string | undefined; name: string | undefined } {
  // Only look at a bounded prefix: tags and names are short, the line may not be.
  const head = line.subarray(0, 256).toString("latin1");
  const words = head.split(" ", 4);
  const tag = words[0] ? words[0] : undefined;
  let name = words[1] ? words[1].toUpperCase() : undefined;
  if (name === "UID" && words[2]) name = `UID ${words[2].toUpperCase()}`;
  if (name?.endsWith("}")) name = undefined; // a literal where the name should be
  return { tag, name };
}
