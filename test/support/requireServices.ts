// Vitest global setup for the int and e2e tiers: the real services must answer, or the run fails
// with a message naming the missing one. Never a silent skip (DESIGN.md, tests use real servers).
import net from "node:net";
import { testServiceAddresses } from "./services.ts";

function probe(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export default async function requireServices(): Promise<void> {
  const missing: string[] = [];
  for (const service of testServiceAddresses()) {
    if (!(await probe(service.host, service.port)))
      missing.push(`${service.name} (${service.host}:${service.port})`);
  }
  if (missing.length > 0) {
    throw new Error(
      `required test services are not reachable: ${missing.join(", ")}. Start them with \`bash infra/services.sh up\`.`,
    );
  }
}
