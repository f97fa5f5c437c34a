import { z } from 'zod';
import type { DetectorSnapshot } from '../detector.js';
import type { VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import { hotellingFactory } from './hotelling.js';
import { pcaFactory } from './pca.js';
import { vectorHstFactory } from './half-space-trees.js';
import { onnxFactory } from './onnx-autoencoder.js';
import { makeVectorEnsembleFactory } from './vector-ensemble.js';
import { getDetectorFactory } from '../registry.js';
import { VigilError } from '../../../errors.js';

/**
 * Every multivariate detector kind, by registry name. Kept apart from the univariate registry:
 * a vector kind scores a whole device, so it cannot be an ensemble member or run on one series.
 * The vector conformance suite iterates over this table.
 */
export const vectorDetectorFactories: Readonly<Record<string, VectorDetectorFactory>> = {
  hotelling: hotellingFactory,
  pca: pcaFactory,
  'vector-hst': vectorHstFactory,
  onnx: onnxFactory,
  'vector-ensemble': makeVectorEnsembleFactory({
    univariate: (kind) => getDetectorFactory(kind),
    vector: (kind) => getVectorDetectorFactory(kind),
  }),
};

export class UnknownVectorDetectorError extends VigilError {
  constructor(readonly detectorKind: string) {
    super(
      'VIGIL_ERR_STRATEGY_INVALID',
      `unknown vector detector kind '${detectorKind}'; known kinds: ${Object.keys(vectorDetectorFactories).join(', ')}`,
    );
    this.name = 'UnknownVectorDetectorError';
  }
}

export function isVectorDetectorKind(kind: string): boolean {
  return Object.hasOwn(vectorDetectorFactories, kind);
}

export function getVectorDetectorFactory(kind: string): VectorDetectorFactory {
  const factory = isVectorDetectorKind(kind) ? vectorDetectorFactories[kind] : undefined;
  if (!factory) throw new UnknownVectorDetectorError(kind);
  return factory;
}

/** Validate `rawParams` (undefined = all defaults) and build a detector for `dimensions` metrics. */
export function createVectorDetector(
  kind: string,
  rawParams: unknown,
  dimensions: number,
  seed: number,
): VectorDetector {
  const factory = getVectorDetectorFactory(kind);
  if (!(Number.isInteger(dimensions) && dimensions >= 1)) {
    throw new RangeError(`a vector detector needs at least one dimension, got ${dimensions}`);
  }
  const parsed = factory.paramsSchema.safeParse(rawParams ?? {});
  if (!parsed.success) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_INVALID',
      `invalid params for detector '${kind}': ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return factory.create(parsed.data, dimensions, seed);
}

/** Rebuild a vector detector from `snapshot()` output (e.g. after a JSON round trip). */
export function restoreVectorDetector(snapshot: DetectorSnapshot): VectorDetector {
  return getVectorDetectorFactory(snapshot.kind).restore(snapshot);
}
