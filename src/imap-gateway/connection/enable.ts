// ENABLE (RFC 5161): turn on extensions the registered modules declared enableable
// (CONDSTORE, QRESYNC, ...); unknown ones are ignored, as the RFC says. IMAP4rev2 (RFC 9051) and
// UTF8=ACCEPT (RFC 6855) change the whole session (modes.ts), so they are declared here.

import { enabledName, IMAP4REV2, UTF8_ACCEPT } from "../modes.ts";
import { defineCommand } from "../module.ts";

export const enableCommand = defineCommand({
  names: ["ENABLE"],
  // RFC 5161 section 3.1: valid only in the authenticated state.
  states: ["authenticated"],
  // Advertised before login too, as Dovecot does: clients that read the list once (Python's
  // imaplib) look for ENABLE in the one they got before LOGIN.
  capabilities: () => ["ENABLE", UTF8_ACCEPT],
  enableable: [IMAP4REV2, UTF8_ACCEPT],
  async handle(command, context) {
    const session = context.session;
    const requested = command.args.capabilities.map((c) => c.toUpperCase());
    // RFC 7162 section 3.2.3: enabling QRESYNC implies CONDSTORE.
    if (requested.includes("QRESYNC") && session.enableable().has("CONDSTORE")) requested.push("CONDSTORE");
    const newlyEnabled = session.enable(requested);
    await context.untagged(["ENABLED", ...newlyEnabled.map(enabledName)].join(" "));
    return undefined;
  },
});
