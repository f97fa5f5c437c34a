/**
 * gRPC server credentials that follow a TlsSource, so a reloaded certificate reaches new gRPC
 * connections without a restart. Built on @grpc/grpc-js's certificate-provider credentials
 * (`experimental.createCertificateProviderServerCredentials`, 1.10+): the provider below hands
 * grpc-js each accepted set; grpc-js calls `setSecureContext` on its HTTP/2 server.
 */
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from './material.js';
import type { TlsSource } from './reloader.js';

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/** The TlsSource as grpc-js's CertificateProvider: identity (cert, key) and CA updates. */
class SourceCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly identity = new Set<IdentityListener>();
  private readonly ca = new Set<CaListener>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly source: TlsSource) {}

  private watch(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.source.onChange((m) => {
      for (const l of this.ca) l(caUpdate(m));
      for (const l of this.identity) l(identityUpdate(m));
    });
  }

  private unwatchWhenUnused(): void {
    if (this.identity.size + this.ca.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  // grpc-js registers its watcher on the credentials only after adding these listeners, so the
  // first set is delivered on the next tick; a synchronous call would be lost.
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.add(listener);
    this.watch();
    setImmediate(
      () => this.identity.has(listener) && listener(identityUpdate(this.source.current())),
    );
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.delete(listener);
    this.unwatchWhenUnused();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.ca.add(listener);
    this.watch();
    setImmediate(() => this.ca.has(listener) && listener(caUpdate(this.source.current())));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.ca.delete(listener);
    this.unwatchWhenUnused();
  }
}

function identityUpdate(m: TlsMaterial): grpc.experimental.IdentityCertificateUpdate {
  return { certificate: m.cert, privateKey: m.key };
}

function caUpdate(m: TlsMaterial): grpc.experimental.CaCertificateUpdate | null {
  return m.ca === undefined ? null : { caCertificate: m.ca };
}

/** Credentials for `server.bindAsync`; client certificates are required when the source says. */
export function grpcServerCredentials(source: TlsSource): grpc.ServerCredentials {
  const provider = new SourceCertificateProvider(source);
  // grpc-js 1.14 passes its first argument on as the identity provider and its second (null:
  // no client certificates asked for) as the CA provider, whatever its .d.ts names them; the
  // same provider fills both roles, and the TLS tests fail if that order ever changes.
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    source.requireClientCert ? provider : null,
    source.requireClientCert,
  );
}
