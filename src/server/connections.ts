/**
 * The HTTP server's connection cap: beyond `max` open sockets Node closes each new one at once
 * (before any byte is read), so a flood of idle connections cannot exhaust file descriptors.
 * Counted in `vigil_http_connections` (open now) and `vigil_http_connections_refused_total`.
 */
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { counter, gauge } from '../metrics/registry.js';

export function capConnections(server: Server, max: number, registry: Registry): void {
  server.maxConnections = max;
  const refused = counter(
    registry,
    'vigil_http_connections_refused_total',
    'HTTP connections closed on arrival because limits.max_connections were open',
    [],
  );
  server.on('drop', () => refused.inc());
  gauge(registry, {
    name: 'vigil_http_connections',
    help: 'HTTP connections open now (limits.max_connections caps them)',
    async collect() {
      const open = await new Promise<number>((resolve) =>
        server.getConnections((err, n) => resolve(err ? 0 : n)),
      );
      this.set(open);
    },
  });
}
