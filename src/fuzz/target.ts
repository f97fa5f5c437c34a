/**
 * One fuzz target per parser: how to generate a case and how to run the parser on it, the way
 * its route or subscriber does. A target reports what came out; the runner (run.ts) classifies.
 */
import type { IngestPoint } from '../engine/engine.js';
import type { Rng } from './random.js';

export interface Outcome {
  /** Points the parser produced, before the engine's validation. */
  readonly points: readonly IngestPoint[];
  /** Items (requests, lines, elements, series) the parser refused with a reason. */
  readonly refused: number;
  /** Things accepted that are not points (strategies), counted with the accepted points. */
  readonly accepted?: number;
  /** An invariant of this parser that the case broke (a defect even without a crash). */
  readonly broken?: string;
}

export interface Target {
  readonly name: string;
  /** The parser under test, for the report. */
  readonly parser: string;
  /** The input bytes of one case, drawn from `rng` only. */
  generate(rng: Rng): Buffer;
  /**
   * Parse one case. A coded refusal of the whole input is a thrown VigilError; anything else
   * thrown is a crash.
   */
  run(input: Buffer): Outcome | Promise<Outcome>;
}
