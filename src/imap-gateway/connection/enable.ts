// ENABLE (RFC 5161): turn on extensions the registered modules declared enableable
// (CONDSTORE, QRESYNC, UTF8=ACCEPT, ...); unknown ones are ignored, as the RFC says.
import { defineCommand } from "../module.ts";

export const enableCommand = defineCommand({
  names: ["ENABLE"],
  // RFC 5161 section 3.1: valid only in the authenticated state.
  states: ["authenticated"],
  capabilities: (session) => (session.state === "not-authenticated" ? [] : ["ENABLE"]),
  async handle(command, context) {
    const session = context.session;
    const requested = command.args.capabilities.map((c) => c.toUpperCase());
    // RFC 7162 section 3.2.3: enabling QRESYNC implies CONDSTORE.
    if (requested.includes("QRESYNC") && session.enableable().has("CONDSTORE")) requested.push("CONDSTORE");
    const newlyEnabled = session.enable(requested);
    await context.untagged(["ENABLED", ...newlyEnabled].join(" "));
    return undefined;
  },
});
