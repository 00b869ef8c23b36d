/**
 * A loopback TCP forwarder on a port it holds from the start (bound to 0, read back): clients
 * get a fixed address before the server behind it exists, without the look-up-then-bind race of
 * reserving a number for a server started later. Until a target is set, and after it is unset,
 * connections are closed at once, as a stopped server's would be refused.
 */
import net from 'node:net';

export interface TcpForwarder {
  address: string;
  port: number;
  /** Forward new connections to `host:port`; null refuses them again and cuts the open ones. */
  setTarget(target: string | null): void;
  close(): Promise<void>;
}

export async function tcpForwarder(): Promise<TcpForwarder> {
  let target: { host: string; port: number } | null = null;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    setTarget(next) {
      if (next === null) {
        target = null;
        for (const socket of open) socket.destroy();
        return;
      }
      const at = next.lastIndexOf(':');
      target = { host: next.slice(0, at), port: Number(next.slice(at + 1)) };
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
