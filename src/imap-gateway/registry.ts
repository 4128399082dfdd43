// The command registry: which module handles which command name, and the capability list built
// from what is registered, so nothing is advertised that is not implemented.

import type { CommandName } from "./codec/index.ts";
import type { AnyCommandModule, SessionInfo } from "./module.ts";
import { GatewayConfigError } from "./options.ts";

/**
 * What the session itself implements: RFC 3501 base, RFC 9051 IMAP4rev2 beside it (chosen per
 * session by ENABLE; modes.ts), and RFC 7888's non-synchronizing literals, LITERAL+ (any size)
 * unless the operator keeps them to LITERAL- (4096 octets).
 */
function sessionCapabilities(nonSyncLiterals: "plus" | "minus"): string[] {
  const base = ["IMAP4rev1", "IMAP4rev2"];
  return nonSyncLiterals === "plus" ? [...base, "LITERAL+", "LITERAL-"] : [...base, "LITERAL-"];
}

export class CommandRegistry {
  readonly #byName = new Map<string, AnyCommandModule>();
  readonly #modules: AnyCommandModule[] = [];
  readonly #enableable = new Set<string>();
  readonly #sessionCapabilities: readonly string[];

  constructor(modules: readonly AnyCommandModule[], options: { nonSyncLiterals?: "plus" | "minus" } = {}) {
    this.#sessionCapabilities = sessionCapabilities(options.nonSyncLiterals ?? "plus");
    for (const module of modules) this.#register(module);
  }

  #register(module: AnyCommandModule): void {
    if (module.names.length === 0) throw new GatewayConfigError("modules: a command module names no command");
    for (const name of module.names) {
      if (this.#byName.has(name)) {
        throw new GatewayConfigError(`modules: command ${name} is registered twice`);
      }
      this.#byName.set(name, module);
    }
    for (const extension of module.enableable ?? []) this.#enableable.add(extension.toUpperCase());
    this.#modules.push(module);
  }

  /** The module for a command name (`UID FETCH` and `FETCH` both map to FETCH's module). */
  lookup(name: string | undefined): AnyCommandModule | undefined {
    if (name === undefined) return undefined;
    const base = name.startsWith("UID ") ? name.slice(4) : name;
    return this.#byName.get(base as CommandName);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  get enableable(): ReadonlySet<string> {
    return this.#enableable;
  }

  capabilities(session: SessionInfo): string[] {
    const result: string[] = [...this.#sessionCapabilities];
    const seen = new Set<string>(result);
    for (const module of this.#modules) {
      for (const capability of module.capabilities?.(session) ?? []) {
        if (!seen.has(capability)) {
          seen.add(capability);
          result.push(capability);
        }
      }
    }
    return result;
  }
}
