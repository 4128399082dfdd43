// TLS for the gateway: one secure context for STARTTLS and the IMAPS port, and the in-place
// upgrade of a clear-text socket (Node's tls.TLSSocket wrapping the net.Socket).

import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { GatewayConfigError, type TlsOptions } from "../options.ts";

/** TLS 1.2 is the floor RFC 8996/8314 leave us; older versions are refused. */
export const MIN_TLS_VERSION = "TLSv1.2";

export function createTlsContext(options: TlsOptions): tls.SecureContext {
  try {
    return tls.createSecureContext({ cert: options.cert, key: options.key, minVersion: MIN_TLS_VERSION });
  } catch (error) {
    throw new GatewayConfigError(`tls: cannot use the certificate and key (${(error as Error).message})`);
  }
}

/** The upgrade function a clear-text session uses for STARTTLS; undefined for non-TCP streams. */
export function startTlsUpgrader(
  socket: Duplex,
  context: tls.SecureContext | undefined,
): ((socket: Duplex) => Duplex) | undefined {
  if (context === undefined || !(socket instanceof net.Socket)) return undefined;
  return (raw) => new tls.TLSSocket(raw as net.Socket, { isServer: true, secureContext: context });
}
