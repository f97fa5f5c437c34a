import { z } from 'zod';
import type { DetectorSnapshot } from './detector.js';
import type { RollingMeanVarState } from '../stats/rolling-mean-var.js';
import type { WelfordState } from '../stats/welford.js';
import { VigilError } from '../../errors.js';

/**
 * Validation of snapshots on restore: checkpoints come back from storage, so their shape is
 * checked like any other input before it becomes detector state.
 */
export function parseSnapshot<P, S>(
  snapshot: DetectorSnapshot,
  kind: string,
  paramsSchema: z.ZodType<P>,
  stateSchema: z.ZodType<S>,
): { params: P; state: S } {
  if (snapshot.kind !== kind) {
    throw new Error(`cannot restore a '${snapshot.kind}' snapshot as '${kind}'`);
  }
  const params = paramsOf(snapshot.params, kind, paramsSchema);
  const state = stateSchema.safeParse(snapshot.state);
  if (!state.success) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `invalid '${kind}' snapshot state: ${z.prettifyError(state.error)}`,
    );
  }
  return { params, state: state.data };
}

/** Params already validated, by their text as stored: a million series of one strategy parse once. */
const parsedByText = new Map<string, object>();

/**
 * Validated params of a snapshot, shared (see `sharedParams`); a params text seen before is not
 * validated again. @throws VIGIL_ERR_STORE_INVALID
 */
export function paramsOf<P>(raw: unknown, kind: string, schema: z.ZodType<P>): P {
  const text = `${kind}\u0000${JSON.stringify(raw)}`;
  const known = parsedByText.get(text);
  if (known !== undefined) return known as P;
  const params = schema.safeParse(raw);
  if (!params.success) {
    throw new VigilError(
      'VIGIL_ERR_STORE_INVALID',
      `invalid '${kind}' snapshot params: ${z.prettifyError(params.error)}`,
    );
  }
  if (typeof params.data !== 'object' || params.data === null) return params.data;
  const shared = sharedParams(kind, params.data);
  if (parsedByText.size < SHARED_PARAMS_LIMIT) parsedByText.set(text, shared);
  return shared as P;
}

/** zod 4 numbers already exclude NaN and ±Infinity; the name says why the schemas rely on it. */
export const finiteNumber = z.number();
const finite = finiteNumber;

export const welfordStateSchema: z.ZodType<WelfordState> = z.object({
  count: z.number().int().nonnegative(),
  mean: finite,
  m2: finite,
});

export const rollingMeanVarStateSchema: z.ZodType<RollingMeanVarState> = z.object({
  capacity: z.number().int().positive(),
  values: z.array(finite),
  head: z.number().int().nonnegative(),
  mean: finite,
  m2: finite,
  sinceRecompute: z.number().int().nonnegative(),
});

/** Distinct params objects kept for sharing; past this, restored series get their own copy. */
const SHARED_PARAMS_LIMIT = 1000;
const sharedByText = new Map<string, object>();
/** The objects `sharedParams` handed out (one of them comes back as itself). */
const sharedObjects = new WeakSet<object>();

/**
 * One frozen params object per distinct params value, shared by every series restored with it:
 * a million restored series of one strategy hold one params object (and one derived layout, which
 * detectors cache per params object) instead of a million copies.
 */
export function sharedParams<P extends object>(kind: string, params: P): Readonly<P> {
  if (sharedObjects.has(params)) return params;
  const key = `${kind}\u0000${JSON.stringify(params)}`;
  const known = sharedByText.get(key);
  if (known !== undefined) return known as Readonly<P>;
  const frozen = Object.freeze({ ...params });
  if (sharedByText.size < SHARED_PARAMS_LIMIT) {
    sharedByText.set(key, frozen);
    sharedObjects.add(frozen);
  }
  return frozen;
}
