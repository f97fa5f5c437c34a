/**
 * Serves one TLS set and replaces it when its files change, without a restart: the files'
 * directories are watched (debounced, plus a periodic re-read where watching misses changes),
 * a changed set is checked like at start (material.ts) and handed to every listener (the HTTP
 * and gRPC servers). A set that fails the checks is not served: the old one stays, a warning is
 * logged and `vigil_tls_reload_failures_total` counts it once per distinct content.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { watchDir, type DirWatch } from '../fs/watch-dir.js';
import { expiryWarning, loadTlsMaterial, type TlsFiles, type TlsMaterial } from './material.js';
import { tlsMetrics } from './metrics.js';

/** What a server needs to serve TLS: the set now, and word of each new one. */
export interface TlsSource {
  /** The set to serve now. */
  current(): TlsMaterial;
  /** True when clients must present a certificate signed by the client CA. */
  readonly requireClientCert: boolean;
  /** `listener` gets every set accepted from now on; returns its removal. */
  onChange(listener: (material: TlsMaterial) => void): () => void;
}

export interface TlsReloader extends TlsSource {
  /** Re-read the files now; true when a changed set was accepted. Runs one at a time. */
  reload(): Promise<boolean>;
  close(): void;
}

export interface TlsReloaderOptions {
  readonly files: TlsFiles;
  /** The set loaded at start (loadTlsMaterial), served until the files change. */
  readonly initial: TlsMaterial;
  readonly registry?: Registry;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** Quiet period after a file event before re-reading, ms (default 200). */
  readonly debounceMs?: number;
  /** Periodic re-read, ms (default 5000; 0 disables). */
  readonly rescanMs?: number;
}

const digest = (m: Pick<TlsMaterial, 'cert' | 'key' | 'ca'>): string =>
  createHash('sha256')
    .update(m.cert)
    .update('\0')
    .update(m.key)
    .update('\0')
    .update(m.ca ?? '')
    .digest('hex');

export function watchTls(options: TlsReloaderOptions): TlsReloader {
  const { files, log } = options;
  const metrics = options.registry && tlsMetrics(options.registry);
  const listeners = new Set<(material: TlsMaterial) => void>();
  let material = options.initial;
  let served = digest(material);
  let lastFailure: string | undefined;
  let refusedByServer: string | undefined;
  metrics?.expiry.set(material.notAfter.getTime() / 1000);
  const initialWarning = expiryWarning(material);
  if (initialWarning !== undefined) log.warn(initialWarning);

  const reloadOnce = async (): Promise<boolean> => {
    let next: TlsMaterial;
    try {
      next = await loadTlsMaterial(files);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A broken set is reported once, not at every periodic re-read while it stays.
      if (message !== lastFailure) {
        lastFailure = message;
        metrics?.reloadFailures.inc();
        log.warn(
          `TLS files changed but not reloaded; still serving the old certificate: ${message}`,
        );
      }
      return false;
    }
    lastFailure = undefined;
    const nextDigest = digest(next);
    if (nextDigest === served || nextDigest === refusedByServer) return false;
    try {
      for (const listener of listeners) listener(next);
    } catch (err) {
      // Node refused what the checks passed (e.g. a key type TLS cannot use); servers told
      // before the one that threw serve the new set, the rest the old one.
      refusedByServer = nextDigest;
      metrics?.reloadFailures.inc();
      log.warn(`TLS files changed but a server refused them: ${String(err)}`);
      return false;
    }
    material = next;
    served = nextDigest;
    metrics?.reloads.inc();
    metrics?.expiry.set(next.notAfter.getTime() / 1000);
    log.info(
      `TLS certificate reloaded: ${next.subject}, serial ${next.serial}, valid until ${next.notAfter.toISOString()}`,
    );
    const warning = expiryWarning(next);
    if (warning !== undefined) log.warn(warning);
    return true;
  };

  // Reloads run one after another: several directories may report the same change.
  let queue: Promise<boolean> = Promise.resolve(false);
  const reload = (): Promise<boolean> => {
    queue = queue.then(reloadOnce, reloadOnce);
    return queue;
  };

  const dirs = new Set(
    [files.cert, files.key, files.clientCa].flatMap((f) => (f ? [path.dirname(f.path)] : [])),
  );
  const watches: DirWatch[] = [...dirs].map((dir, i) =>
    watchDir(
      dir,
      async () => {
        await reload();
      },
      {
        debounceMs: options.debounceMs ?? 200,
        // One periodic re-read covers every file.
        rescanMs: i === 0 ? (options.rescanMs ?? 5000) : 0,
        log: (message) => log.warn(message),
      },
    ),
  );

  return {
    current: () => material,
    requireClientCert: files.clientCa !== undefined,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload,
    close() {
      for (const w of watches) w.close();
      listeners.clear();
    },
  };
}
