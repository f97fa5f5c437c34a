import type { z } from 'zod';
import { ENSEMBLE_KIND } from '../detectors/ensemble.js';
import { vectorDetectorFactories } from '../detectors/multivariate/vector-registry.js';
import { detectorFactories } from '../detectors/registry.js';
import { thresholdFactories } from '../thresholds/registry.js';

/**
 * What the strategy schema needs to know about a family of components (detectors or
 * thresholds): which kinds exist and how each validates its parameters. Kept behind this small
 * interface so the schema does not depend on the registries' exact shape.
 */
export interface KindCatalogue {
  /** `detector` or `threshold`, as the word appears in messages. */
  readonly noun: string;
  kinds(): readonly string[];
  paramsSchema(kind: string): z.ZodType | undefined;
  /**
   * Kinds whose params hold `members: [{kind, params, …}]` of this same catalogue (the
   * ensemble): the schema validates each member's params with that member's own schema.
   */
  readonly composite: ReadonlySet<string>;
  /** The catalogue a composite's members come from, when narrower than this one. */
  readonly members?: KindCatalogue;
}

type FactoryTable = Readonly<Record<string, { readonly paramsSchema: z.ZodType }>>;

function catalogue(noun: string, table: FactoryTable, composite: readonly string[]): KindCatalogue {
  return {
    noun,
    kinds: () => Object.keys(table),
    paramsSchema: (kind) => (Object.hasOwn(table, kind) ? table[kind]?.paramsSchema : undefined),
    composite: new Set(composite),
  };
}

/** Univariate kinds only: what an ensemble may combine (a vector kind scores a whole device). */
export const univariateDetectorKinds: KindCatalogue = catalogue(
  'univariate detector',
  detectorFactories,
  [ENSEMBLE_KIND],
);

/** Every kind a strategy's detector may be: univariate, then multivariate (vector) kinds. */
export const detectorKinds: KindCatalogue = {
  ...catalogue('detector', { ...detectorFactories, ...vectorDetectorFactories }, [ENSEMBLE_KIND]),
  members: univariateDetectorKinds,
};
export const thresholdKinds: KindCatalogue = catalogue('threshold', thresholdFactories, []);
