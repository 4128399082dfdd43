// A TCP port free on 127.0.0.1 right now, for a server a test or bench starts: the kernel picks
// it (listen on 0), the probe closes, the caller binds it next. Shared by tests, compliance and benches.
import net from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface WaitForPortOptions {
  timeoutMs: number;
  /** Named in the error: "mailledger", "Dovecot", ... */
  what?: string;
  /** The server's output so far, for the error. */
  output?: () => string;
  /** The server's process: its exit ends the wait at once. */
  process?: { readonly exitCode: number | null };
}

/** Resolves once something accepts connections on 127.0.0.1:port; throws after timeoutMs. */
export async function waitForPort(port: number, options: WaitForPortOptions): Promise<void> {
  const what = options.what ?? "the server";
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const exitCode = options.process?.exitCode;
    if (exitCode !== null && exitCode !== undefined) {
      throw new Error(`${what} exited (${exitCode}):\n${options.output?.() ?? ""}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on ${port}:\n${options.output?.() ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
