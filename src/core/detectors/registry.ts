import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { adaptiveWindowFactory } from './adaptive-window.js';
import { makeEnsembleFactory } from './ensemble.js';
import { ewZScoreFactory } from './ew-zscore.js';
import { extremeValueFactory } from './extreme-value.js';
import { halfSpaceTreesFactory } from './half-space-trees.js';
import { rollingZScoreFactory } from './rolling-zscore.js';
import { seasonalEsdFactory } from './seasonal-esd.js';
import { VigilError } from '../../errors.js';

/** The ensemble builds its members through this registry, handed over as a lookup function. */
const ensembleFactory = makeEnsembleFactory((kind) => getDetectorFactory(kind));

/**
 * Every detector kind, by registry name. The conformance suite iterates over this table, so a
 * detector added here is tested against the shared contract automatically.
 */
export const detectorFactories: Readonly<Record<string, DetectorFactory>> = {
  'rolling-zscore': rollingZScoreFactory,
  ewzscore: ewZScoreFactory,
  'adaptive-window': adaptiveWindowFactory,
  'seasonal-esd': seasonalEsdFactory,
  'half-space-trees': halfSpaceTreesFactory,
  'extreme-value': extremeValueFactory,
  ensemble: ensembleFactory,
};

export class UnknownDetectorError extends VigilError {
  constructor(readonly detectorKind: string) {
    super(
      'VIGIL_ERR_STRATEGY_INVALID',
      `unknown detector kind '${detectorKind}'; known kinds: ${Object.keys(detectorFactories).join(', ')}`,
    );
    this.name = 'UnknownDetectorError';
  }
}

export function getDetectorFactory(kind: string): DetectorFactory {
  const factory = Object.hasOwn(detectorFactories, kind) ? detectorFactories[kind] : undefined;
  if (!factory) throw new UnknownDetectorError(kind);
  return factory;
}

/** Validate `rawParams` (undefined = all defaults) with the kind's schema and build a detector. */
export function createDetector(kind: string, rawParams: unknown, seed: number): Detector {
  const factory = getDetectorFactory(kind);
  const parsed = factory.paramsSchema.safeParse(rawParams ?? {});
  if (!parsed.success) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_INVALID',
      `invalid params for detector '${kind}': ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return factory.create(parsed.data, seed);
}

/** Rebuild a detector from `snapshot()` output (e.g. after a JSON round trip through storage). */
export function restoreDetector(snapshot: DetectorSnapshot): Detector {
  return getDetectorFactory(snapshot.kind).restore(snapshot);
}
