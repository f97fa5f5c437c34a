import { z } from 'zod';
import type { Threshold, ThresholdSnapshot } from './threshold.js';
import { StaticThreshold, STATIC_KIND, staticParamsSchema, type StaticParams } from './static.js';
import {
  DYNAMIC_KIND,
  DynamicThreshold,
  dynamicParamsSchema,
  dynamicStateSchema,
  type DynamicParams,
} from './dynamic.js';
import { VigilError } from '../../errors.js';
import { paramsOf, sharedParams } from '../detectors/snapshot-parts.js';

/**
 * How a threshold kind is built: from validated params (`paramsSchema.parse({})` gives the
 * defaults; the strategy schema embeds it), or back from a snapshot.
 */
export interface ThresholdFactory<P = unknown> {
  readonly kind: string;
  /** One line for listings and the docs. */
  readonly description: string;
  readonly paramsSchema: z.ZodType<P>;
  create(params: P): Threshold;
  restore(snapshot: ThresholdSnapshot): Threshold;
}

export class UnknownThresholdError extends VigilError {
  constructor(readonly thresholdKind: string) {
    super(
      'VIGIL_ERR_STRATEGY_INVALID',
      `unknown threshold kind '${thresholdKind}'; known kinds: ${Object.keys(thresholdFactories).join(', ')}`,
    );
    this.name = 'UnknownThresholdError';
  }
}

/** Snapshots come back from storage: their params and state are validated like any input. */
function parsePart<T>(kind: string, part: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `invalid '${kind}' snapshot ${part}: ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function checkKind(snapshot: ThresholdSnapshot, kind: string): void {
  if (snapshot.kind !== kind) {
    throw new Error(`cannot restore a '${snapshot.kind}' snapshot as '${kind}'`);
  }
}

const staticFactory: ThresholdFactory<StaticParams> = {
  kind: STATIC_KIND,
  description: 'Fixed boundaries: alert at 0.5 (the detectors’ own boundary), severe at 0.8',
  paramsSchema: staticParamsSchema,
  create: (params) => new StaticThreshold(params),
  restore: (snapshot) => {
    checkKind(snapshot, STATIC_KIND);
    return new StaticThreshold(
      parsePart(STATIC_KIND, 'params', staticParamsSchema, snapshot.params),
    );
  },
};

const dynamicFactory: ThresholdFactory<DynamicParams> = {
  kind: DYNAMIC_KIND,
  description:
    'Alert/severe at q99.5/q99.9 of the last 1000 normal scores (floors 0.5/0.8), frozen while volatile',
  paramsSchema: dynamicParamsSchema,
  create: (params) => new DynamicThreshold(params),
  restore: (snapshot) => {
    checkKind(snapshot, DYNAMIC_KIND);
    const params = paramsOf(snapshot.params, DYNAMIC_KIND, dynamicParamsSchema);
    const state = parsePart(DYNAMIC_KIND, 'state', dynamicStateSchema, snapshot.state);
    return new DynamicThreshold(sharedParams(DYNAMIC_KIND, params), state);
  },
};

/** Every threshold kind, by name. */
export const thresholdFactories: Readonly<Record<string, ThresholdFactory>> = {
  [STATIC_KIND]: staticFactory,
  [DYNAMIC_KIND]: dynamicFactory,
};

export function getThresholdFactory(kind: string): ThresholdFactory {
  const factory = Object.hasOwn(thresholdFactories, kind) ? thresholdFactories[kind] : undefined;
  if (!factory) throw new UnknownThresholdError(kind);
  return factory;
}

/**
 * Parsed params by kind and JSON text: every series of a strategy shares one frozen params object
 * instead of carrying its own copy (a threshold is built per series, and must stay small).
 */
const parsedParams = new Map<string, unknown>();

/** Validate `rawParams` (undefined = all defaults) with the kind's schema and build a threshold. */
export function createThreshold(kind: string, rawParams: unknown): Threshold {
  const factory = getThresholdFactory(kind);
  const key = `${kind}\u0000${JSON.stringify(rawParams ?? {})}`;
  let params = parsedParams.get(key);
  if (params === undefined) {
    const parsed = factory.paramsSchema.safeParse(rawParams ?? {});
    if (!parsed.success) {
      throw new VigilError(
        'VIGIL_ERR_STRATEGY_INVALID',
        `invalid params for threshold '${kind}': ${z.prettifyError(parsed.error)}`,
        { cause: parsed.error },
      );
    }
    params = Object.freeze(parsed.data);
    parsedParams.set(key, params);
  }
  return factory.create(params);
}

/** Rebuild a threshold from `snapshot()` output (e.g. after a JSON round trip through storage). */
export function restoreThreshold(snapshot: ThresholdSnapshot): Threshold {
  return getThresholdFactory(snapshot.kind).restore(snapshot);
}
