import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import {
  canExplain,
  type EvidenceItem,
  type ExplainingDetector,
  type Explanation,
} from './explanation.js';
import { hashString } from '../stats/rng.js';
import { parseSnapshot } from './snapshot-parts.js';
import { VigilError } from '../../errors.js';

export const ENSEMBLE_KIND = 'ensemble';

/** How the registry is reached from here without importing it (the registry imports us). */
export type DetectorLookup = (kind: string) => DetectorFactory;

export type CombineRule = 'max' | 'mean' | 'weighted-mean';

export interface EnsembleMember {
  readonly kind: string;
  /** The member's own params, fully defaulted by its schema. */
  readonly params: unknown;
  readonly weight: number;
}

export interface EnsembleParams {
  readonly members: readonly EnsembleMember[];
  readonly combine: CombineRule;
}

const memberInput = z.strictObject({
  kind: z.string().min(1),
  params: z.unknown().optional(),
  weight: z.number().positive().default(1),
});

/** Members when none are given: seasonal ESD for periodic series, the online z-score for the rest. */
const DEFAULT_MEMBERS = [{ kind: 'seasonal-esd' }, { kind: 'ewzscore' }];

/**
 * Params schema of the ensemble: each member's params are validated (and defaulted) by that
 * member's own schema, with errors reported at `members.<i>.params.<field>`.
 */
export function ensembleParamsSchema(lookup: DetectorLookup): z.ZodType<EnsembleParams> {
  return z
    .strictObject({
      members: z.array(memberInput).min(1).max(16).prefault(DEFAULT_MEMBERS),
      combine: z.enum(['max', 'mean', 'weighted-mean']).default('max'),
    })
    .transform((value, ctx): EnsembleParams => {
      const members = value.members.map((member, i): EnsembleMember => {
        let factory: DetectorFactory;
        try {
          factory = lookup(member.kind);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          ctx.issues.push({ code: 'custom', message, path: ['members', i, 'kind'], input: member });
          return { ...member, params: {} };
        }
        const parsed = factory.paramsSchema.safeParse(member.params ?? {});
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            ctx.issues.push({
              code: 'custom',
              message: issue.message,
              path: ['members', i, 'params', ...issue.path],
              input: member.params,
            });
          }
          return { ...member, params: {} };
        }
        return { kind: member.kind, params: parsed.data, weight: member.weight };
      });
      return { members, combine: value.combine };
    });
}

/** Seed of member i: a pure function of the ensemble's seed, different for every position. */
export function memberSeed(seed: number, index: number): number {
  return hashString(`ensemble-member-${index}`, seed >>> 0);
}

/**
 * Several detectors on the same series, their scores combined point by point: `max` (any member
 * can raise an alarm), `mean`, or `weighted-mean` (by each member's weight). Every member keeps
 * its own score convention, so 0.5 stays each member's own boundary and `max` keeps it too.
 */
export class EnsembleDetector implements Detector, ExplainingDetector {
  readonly kind = ENSEMBLE_KIND;
  readonly params: EnsembleParams;
  private readonly members: readonly Detector[];
  private readonly weights: Float64Array;
  private readonly weightSum: number;
  private readonly rule: CombineRule;

  constructor(params: EnsembleParams, members: readonly Detector[]) {
    if (members.length !== params.members.length || members.length === 0) {
      throw new Error('ensemble: member detectors do not match params.members');
    }
    this.params = deepFreeze(structuredClone(params));
    this.members = [...members];
    this.rule = params.combine;
    // `mean` is the weighted mean with unit weights.
    this.weights = Float64Array.from(params.members, (m) =>
      params.combine === 'mean' ? 1 : m.weight,
    );
    this.weightSum = this.weights.reduce((a, b) => a + b, 0);
  }

  score(timeMs: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    let acc = 0;
    for (let i = 0; i < this.members.length; i++) {
      acc = this.fold(acc, (this.members[i] as Detector).score(timeMs, value), i);
    }
    return this.finish(acc);
  }

  learn(timeMs: number, value: number): void {
    if (!Number.isFinite(value)) return;
    for (const m of this.members) m.learn(timeMs, value);
  }

  update(timeMs: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    let acc = 0;
    for (let i = 0; i < this.members.length; i++) {
      acc = this.fold(acc, (this.members[i] as Detector).update(timeMs, value), i);
    }
    return this.finish(acc);
  }

  /**
   * Evidence: every member's score, named by kind (`kind#i` when a kind repeats), strongest
   * first — under `max` the strongest is the ensemble's score. Expected value and band come from
   * the strongest member that can explain itself.
   */
  explain(timeMs: number, value: number): Explanation {
    if (!Number.isFinite(value)) return { expected: null, band: null, evidence: [] };
    const kinds = this.params.members.map((m) => m.kind);
    const evidence: EvidenceItem[] = [];
    let best: ExplainingDetector | null = null;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[i] as Detector;
      const score = member.score(timeMs, value);
      if (canExplain(member) && score > bestScore) {
        best = member;
        bestScore = score;
      }
      const kind = kinds[i] as string;
      const repeated = kinds.indexOf(kind) !== kinds.lastIndexOf(kind);
      evidence.push({ name: repeated ? `${kind}#${i}` : kind, score });
    }
    evidence.sort((a, b) => b.score - a.score);
    const inner = best?.explain(timeMs, value);
    return { expected: inner?.expected ?? null, band: inner?.band ?? null, evidence };
  }

  snapshot(): DetectorSnapshot {
    return {
      kind: this.kind,
      params: structuredClone(this.params),
      state: { members: this.members.map((m) => m.snapshot()) },
    };
  }

  private fold(acc: number, score: number, i: number): number {
    if (this.rule === 'max') return score > acc ? score : acc;
    return acc + (this.weights[i] as number) * score;
  }

  private finish(acc: number): number {
    return this.rule === 'max' ? acc : acc / this.weightSum;
  }
}

const stateSchema = z.object({
  members: z.array(z.object({ kind: z.string(), params: z.unknown(), state: z.unknown() })),
});

/** The ensemble factory, given the registry lookup (which it cannot import: that would be a cycle). */
export function makeEnsembleFactory(lookup: DetectorLookup): DetectorFactory<EnsembleParams> {
  const paramsSchema = ensembleParamsSchema(lookup);
  return {
    kind: ENSEMBLE_KIND,
    description: 'Several detectors combined by max, mean or weighted mean',
    paramsSchema,
    create: (params, seed) =>
      new EnsembleDetector(
        params,
        params.members.map((m, i) => {
          const factory = lookup(m.kind);
          // Re-parse: create() may be handed params that only went through the outer schema.
          return factory.create(factory.paramsSchema.parse(m.params ?? {}), memberSeed(seed, i));
        }),
      ),
    restore: (snapshot) => {
      const { params, state } = parseSnapshot(snapshot, ENSEMBLE_KIND, paramsSchema, stateSchema);
      if (state.members.length !== params.members.length) {
        throw new VigilError(
          'VIGIL_ERR_STORE_INVALID',
          'ensemble snapshot: member count does not match params.members',
        );
      }
      const members = state.members.map((member, i) => {
        const expected = params.members[i]?.kind;
        if (member.kind !== expected) {
          throw new VigilError(
            'VIGIL_ERR_STORE_INVALID',
            `ensemble snapshot: member ${i} is '${member.kind}', expected '${expected}'`,
          );
        }
        return lookup(member.kind).restore(member);
      });
      return new EnsembleDetector(params, members);
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
