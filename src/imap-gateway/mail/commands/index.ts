// Every mailbox command module (RFC 3501 authenticated and selected states), given the storage.
import type { AnyCommandModule } from "../../module.ts";
import type { MailServices } from "../services.ts";
import { selectCommand } from "./select.ts";

export function mailboxCommands(services: MailServices): AnyCommandModule[] {
  return [selectCommand(services)];
}
