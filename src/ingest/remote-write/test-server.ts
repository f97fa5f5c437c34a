/**
 * For tests: the real engine on an in-memory PGlite store behind a real socket, with the HTTP
 * server and the remote-write route, as `vigil serve` wires them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createEngine, type LiveEngine } from '../../engine/live-engine.js';
import { buildHttpServer } from '../../server/http.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { registerRemoteWriteRoutes, type RemoteWriteOptions } from './routes.js';

export interface RunningVigil {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly engine: LiveEngine;
  readonly store: Store;
  readonly registry: Registry;
  stop(): Promise<void>;
}

export async function startVigil(
  options: {
    queueLimit?: number;
    mapping?: RemoteWriteOptions['mapping'];
    limits?: RemoteWriteOptions['limits'];
  } = {},
): Promise<RunningVigil> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-rw-'));
  const store = await openStore();
  const registry = new Registry();
  const engine = await createEngine({
    store,
    registry,
    spoolDir: path.join(dir, 'spool'),
    checkpointEveryMs: 0,
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
  });
  const app = await buildHttpServer({ engine, store, registry, logger: { level: 'silent' } });
  await registerRemoteWriteRoutes(app, {
    engine,
    registry,
    ...(options.mapping ? { mapping: options.mapping } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    engine,
    store,
    registry,
    async stop() {
      await app.close();
      await engine.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
