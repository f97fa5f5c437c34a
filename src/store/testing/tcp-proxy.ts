/**
 * For tests: a TCP proxy in front of a real server (PostgreSQL) that a test can cut, to simulate
 * an outage without stopping the server others use. Cut = a network black hole: connections
 * stay open but carry nothing, and new ones are accepted and never answered, so clients wait
 * on their own timeouts as they would behind a dead switch. Restore ends the held connections
 * and forwards new ones again.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Stop carrying bytes, on open connections and new ones. */
  cut(): void;
  /** End every connection held by the cut; new connections are forwarded again. */
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    if (cut) return; // accepted, never answered
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!cut) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cut = true;
    },
    restore() {
      cut = false;
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
