// The commands the gateway core implements; storage-backed modules are added by the next layer.
import type { AnyCommandModule } from "../module.ts";
import { authenticateCommand } from "./authenticate.ts";
import { capabilityCommand } from "./capability.ts";
import { compressCommand } from "./compress.ts";
import { enableCommand } from "./enable.ts";
import { idCommand } from "./id.ts";
import { loginCommand } from "./login.ts";
import { logoutCommand } from "./logout.ts";
import { noopCommand } from "./noop.ts";
import { starttlsCommand } from "./starttls.ts";
import { unauthenticateCommand } from "./unauthenticate.ts";

/** `compression: false` leaves COMPRESS=DEFLATE out (GatewayOptions.compression). */
export function coreCommands(options: { compression?: boolean } = {}): AnyCommandModule[] {
  return [
    ...(options.compression === false ? [] : [compressCommand]),
    capabilityCommand,
    noopCommand,
    logoutCommand,
    starttlsCommand,
    loginCommand,
    authenticateCommand,
    idCommand,
    enableCommand,
    unauthenticateCommand,
  ];
}
