// CHECK (RFC 3501 6.4.1).
import { defineCommand, SELECTED } from "../module.ts";

/** CHECK (RFC 3501 6.4.1): every acknowledged change is already durable; nothing to do. */
export function checkCommand() {
  return defineCommand({
    names: ["CHECK"],
    selectedView: "looks-first",
    states: SELECTED,
    // As NOOP: a poll, which the session's look at storage before every command already made.
    async handle() {
      return undefined;
    },
  });
}
