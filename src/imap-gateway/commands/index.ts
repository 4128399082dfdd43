// The commands the gateway core implements; storage-backed modules are added by the next layer.
import type { AnyCommandModule } from "../module.ts";
import { authenticateCommand } from "./authenticate.ts";
import { capabilityCommand } from "./capability.ts";
import { enableCommand } from "./enable.ts";
import { idCommand } from "./id.ts";
import { loginCommand } from "./login.ts";
import { logoutCommand } from "./logout.ts";
import { noopCommand } from "./noop.ts";
import { starttlsCommand } from "./starttls.ts";

export function coreCommands(): AnyCommandModule[] {
  return [
    capabilityCommand,
    noopCommand,
    logoutCommand,
    starttlsCommand,
    loginCommand,
    authenticateCommand,
    idCommand,
    enableCommand,
  ];
}
