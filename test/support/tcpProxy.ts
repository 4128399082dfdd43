// A TCP proxy a test can cut and restore, to take a service away from one process while the rest
// of the cluster keeps it (Redis for one gateway node: ioredis connects straight to host:port).
// Cut: every open connection is dropped and new ones are closed as soon as they arrive, so a
// client sees its connection lost and each reconnection fail. Restore: connections pass again.
import net from "node:net";

export interface TcpProxy {
  /** The port to give clients instead of the target's. */
  port: number;
  /** Connections open through the proxy now. */
  readonly connections: number;
  /**
   * The local ports of the proxy's connections to the target: how the target names the proxied
   * clients (Redis's CLIENT LIST shows them as addr=127.0.0.1:<port>).
   */
  upstreamPorts(): number[];
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    upstreams.add(upstream);
    const pair = [client, upstream];
    const drop = () => {
      upstreams.delete(upstream);
      for (const socket of pair) {
        socket.destroy();
        open.delete(socket);
      }
    };
    for (const socket of pair) {
      open.add(socket);
      socket.on("error", drop);
      socket.on("close", drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const dropAll = () => {
    for (const socket of [...open]) socket.destroy();
    open.clear();
    upstreams.clear();
  };
  return {
    port: address.port,
    get connections() {
      // Each proxied connection is a client socket and its upstream.
      return open.size / 2;
    },
    upstreamPorts() {
      return [...upstreams].flatMap((socket) => (socket.localPort === undefined ? [] : [socket.localPort]));
    },
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    close() {
      cut = true;
      dropAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
