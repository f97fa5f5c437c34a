import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CostMatrix, NabCorpus, NabFile, ProfileName } from './corpus.js';

/** NAB's shipped cost matrices, so hand-made corpora score like the real one. */
export const NAB_PROFILES: Record<ProfileName, CostMatrix> = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11, tnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22, tnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11, tnWeight: 1 },
};

/** The real corpus: `$NAB_DATA`, else `../shared/datasets/nab` next to the repository. */
export function nabDataDir(): string {
  // Tests run compiled from dist/eval/nab/, three levels below the repository root.
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  return process.env.NAB_DATA ?? path.resolve(repoRoot, '../shared/datasets/nab');
}

export interface FileSpec {
  readonly rows: number;
  /** Windows as inclusive row ranges. */
  readonly windows?: readonly (readonly [number, number])[];
  readonly category?: string;
}

const MINUTE = 60_000;
const T0 = Date.UTC(2020, 0, 1);

/** A corpus of minute-spaced series, one per spec, named `<category>/f<k>.csv`. */
export function makeCorpus(specs: readonly FileSpec[]): NabCorpus {
  const files: NabFile[] = specs.map((spec, k) => {
    const category = spec.category ?? 'cat';
    const times = new Float64Array(spec.rows);
    const timestamps: string[] = [];
    for (let i = 0; i < spec.rows; i++) {
      times[i] = T0 + i * MINUTE;
      timestamps.push(new Date(times[i] as number).toISOString().slice(0, 19).replace('T', ' '));
    }
    const name = `f${k}.csv`;
    return {
      relPath: `${category}/${name}`,
      category,
      name,
      timestamps,
      times,
      values: new Float64Array(spec.rows),
      windows: (spec.windows ?? []).map(([a, b]) => [T0 + a * MINUTE, T0 + b * MINUTE] as const),
    };
  });
  return { dataDir: '(in memory)', files, profiles: NAB_PROFILES };
}

/** Scores of `rows` rows: `high` at the given rows, `low` elsewhere. */
export function spikes(rows: number, at: readonly number[], high = 1, low = 0): Float64Array {
  const s = new Float64Array(rows).fill(low);
  for (const i of at) s[i] = high;
  return s;
}
