/**
 * Loads `proto/vigil/v1/ingest.proto` at run time. The loader options must stay in step with the
 * generator flags in scripts/gen-proto.mjs, because the generated `__Output` types describe exactly
 * what these options produce (snake_case names, 64-bit integers as decimal strings, enums as names).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './generated/ingest.js';

/** `proto/` at the repository root; the same three levels up from src/ and dist/. */
export const PROTO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'proto',
);
export const INGEST_PROTO = 'vigil/v1/ingest.proto';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  // Exact: seq_id is a client-chosen uint64 and must be echoed unchanged.
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: ProtoGrpcType | undefined;

/** The loaded `vigil.v1` package (service constructors and definitions), loaded once. */
export function loadVigilProto(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(INGEST_PROTO, LOADER_OPTIONS),
  ) as unknown as ProtoGrpcType;
  return cached;
}
