/**
 * `snappy` in the edge build (the bundle maps the package here): its native module cannot be
 * inside the bundle, so it is loaded from the extracted tree (root.ts). Prometheus remote write
 * (snappy-compressed) needs it.
 */
import { edgeRequire } from './root.js';

const snappy = edgeRequire('snappy') as typeof import('snappy');

export const { compress, compressSync, uncompress, uncompressSync } = snappy;
