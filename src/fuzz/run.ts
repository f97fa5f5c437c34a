/**
 * Runs cases of one target and classifies each: accepted points, coded refusal, crash (anything
 * thrown that is not a VigilError), hang (over `hangMs`), unstorable (an accepted point the
 * stores could not hold exactly) or broken (a parser invariant). Failures are reported with
 * their seed, case index and bytes, and the run goes on.
 */
import { DEFAULT_LIMITS, validateBatch, type ValidPoint } from '../engine/validate.js';
import { VigilError } from '../errors.js';
import { caseRng } from './random.js';
import { pointProblem, spoolProblem } from './storable.js';
import type { Target } from './target.js';

export type FailureKind = 'crash' | 'hang' | 'unstorable' | 'broken';

export interface Failure {
  readonly target: string;
  readonly seed: number;
  readonly index: number;
  readonly kind: FailureKind;
  readonly message: string;
  readonly ms: number;
  /** The case's bytes, base64. */
  readonly input: string;
}

export interface Summary {
  readonly target: string;
  readonly cases: number;
  /** Points accepted by the parser and the engine's validation (and accepted strategies). */
  readonly accepted: number;
  readonly refused: number;
  readonly crashes: number;
  readonly hangs: number;
  readonly unstorable: number;
  readonly broken: number;
  readonly slowestMs: number;
  readonly slowestCase: number;
  /** Wall time of the run, generation included. */
  readonly seconds: number;
}

export interface RunOptions {
  readonly seed: number;
  /** First case index. */
  readonly from?: number;
  readonly cases: number;
  readonly hangMs?: number;
  readonly onFailure?: (failure: Failure) => void;
  /** Called now and then with the cases done, for progress. */
  readonly onProgress?: (done: number) => void;
  /** Sees the accepted points of each case (the test stores a sample of them). */
  readonly onAccepted?: (points: ValidPoint[], index: number) => void;
}

interface CaseResult {
  readonly accepted: number;
  readonly refused: number;
  readonly failure?: { kind: FailureKind; message: string };
  readonly ms: number;
}

/** Run one case (for the loop and for replay); `onAccepted` sees the points validation accepted. */
export async function runCase(
  target: Target,
  input: Buffer,
  hangMs = 100,
  onAccepted?: (points: ValidPoint[]) => void,
): Promise<CaseResult> {
  const started = performance.now();
  let accepted = 0;
  let refused = 0;
  let failure: CaseResult['failure'];
  try {
    const outcome = await target.run(input);
    const { valid, errors } = validateBatch([...outcome.points], DEFAULT_LIMITS);
    accepted = valid.length + (outcome.accepted ?? 0);
    refused = outcome.refused + errors.length;
    if (outcome.broken !== undefined) failure = { kind: 'broken', message: outcome.broken };
    for (const p of valid) {
      const problem = pointProblem(p);
      if (problem !== undefined) {
        failure ??= { kind: 'unstorable', message: `${problem}: ${JSON.stringify(p)}` };
        break;
      }
    }
    const spool = spoolProblem(valid);
    if (spool !== undefined) failure ??= { kind: 'unstorable', message: spool };
    if (valid.length > 0) onAccepted?.(valid);
  } catch (error) {
    if (error instanceof VigilError) refused = 1;
    else {
      const message =
        error instanceof Error
          ? `${error.name}: ${error.message}\n${error.stack ?? ''}`
          : String(error);
      failure = { kind: 'crash', message };
    }
  }
  const ms = performance.now() - started;
  if (failure === undefined && ms > hangMs) {
    failure = { kind: 'hang', message: `${ms.toFixed(1)} ms (limit ${hangMs} ms)` };
  }
  return failure === undefined ? { accepted, refused, ms } : { accepted, refused, ms, failure };
}

export async function runTarget(target: Target, options: RunOptions): Promise<Summary> {
  const from = options.from ?? 0;
  const counts = { accepted: 0, refused: 0, crash: 0, hang: 0, unstorable: 0, broken: 0 };
  let slowestMs = 0;
  let slowestCase = from;
  const started = performance.now();
  for (let index = from; index < from + options.cases; index++) {
    const input = target.generate(caseRng(options.seed, index));
    const accepted = options.onAccepted;
    let result = await runCase(
      target,
      input,
      options.hangMs,
      accepted === undefined ? undefined : (points) => accepted(points, index),
    );
    // A pause of the collector or of the machine is not the parser's: a slow case counts as a
    // hang only when it is slow on each of three runs.
    for (let again = 0; again < 2 && result.failure?.kind === 'hang'; again++) {
      const retry = await runCase(target, input, options.hangMs);
      if (retry.failure?.kind !== 'hang') result = retry;
    }
    counts.accepted += result.accepted;
    counts.refused += result.refused;
    if (result.ms > slowestMs) {
      slowestMs = result.ms;
      slowestCase = index;
    }
    if (result.failure !== undefined) {
      counts[result.failure.kind]++;
      options.onFailure?.({
        target: target.name,
        seed: options.seed,
        index,
        ...result.failure,
        ms: result.ms,
        input: input.toString('base64'),
      });
    }
    if ((index - from + 1) % 10_000 === 0) options.onProgress?.(index - from + 1);
  }
  return {
    target: target.name,
    cases: options.cases,
    accepted: counts.accepted,
    refused: counts.refused,
    crashes: counts.crash,
    hangs: counts.hang,
    unstorable: counts.unstorable,
    broken: counts.broken,
    slowestMs,
    slowestCase,
    seconds: (performance.now() - started) / 1000,
  };
}
