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
