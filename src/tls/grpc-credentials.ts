/**
 * gRPC server credentials that follow a TlsSource, so a reloaded certificate reaches new gRPC
 * connections without a restart. @grpc/grpc-js (1.10+) lets credentials change their secure
 * context: a server bound with them calls `setSecureContext` on its HTTP/2 server whenever
 * `updateSecureContextOptions` is called, which is what this subclass does on each reload.
 *
 * Not grpc-js's own `experimental.createCertificateProviderServerCredentials`: its first
 * certificate arrives only after the port is bound, and connections in between are dropped
 * ("unloaded credentials"); these credentials hold the first set from construction.
 */
import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { TlsMaterial } from './material.js';
import type { TlsSource } from './reloader.js';

function contextOptions(m: TlsMaterial): SecureContextOptions {
  return { cert: [m.cert], key: [m.key], ...(m.ca && { ca: m.ca }) };
}

class ReloadingServerCredentials extends grpc.ServerCredentials {
  constructor(source: TlsSource) {
    const clientCert = source.requireClientCert;
    super(
      { requestCert: clientCert, rejectUnauthorized: clientCert },
      contextOptions(source.current()),
    );
    // Every server bound with these credentials hears of the change (grpc-js's watchers).
    source.onChange((m) => this.updateSecureContextOptions(contextOptions(m)));
  }

  /** One set of credentials per bound port: grpc-js compares them when a port is re-bound. */
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** Credentials for `server.bindAsync`; client certificates are required when the source says. */
export function grpcServerCredentials(source: TlsSource): grpc.ServerCredentials {
  return new ReloadingServerCredentials(source);
}
