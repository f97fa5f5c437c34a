/**
 * HTTPS for the Fastify server (HTTP/1.1 over TLS): the server options from a TlsSource, and
 * following its reloads with `setSecureContext`, which changes what new connections get while
 * open ones keep theirs.
 */
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { TlsMaterial } from './material.js';
import type { TlsSource } from './reloader.js';

function contextOptions(m: TlsMaterial): ServerOptions {
  return { cert: m.cert, key: m.key, ...(m.ca && { ca: m.ca }) };
}

/** Fastify's `https` option: with a client CA, a client certificate it signed is required. */
export function httpsOptions(source: TlsSource): { https: ServerOptions } {
  const clientCert = source.requireClientCert && { requestCert: true, rejectUnauthorized: true };
  return { https: { ...contextOptions(source.current()), ...clientCert } };
}

/** New connections get each reloaded set; stops following when the app closes. */
export function followTls(app: FastifyInstance, source: TlsSource): void {
  // Fastify is typed for plain HTTP here; with the `https` option its server is an https.Server.
  const server = app.server as unknown as HttpsServer;
  const stop = source.onChange((m) => server.setSecureContext(contextOptions(m)));
  app.addHook('onClose', async () => stop());
}
