import type { Migration } from './migration.js';

/**
 * The alert threshold in value space beside each score-history bucket: [lower, upper], the values
 * that would not have alerted, read by the engine at the series' first scored point of the minute
 * (docs/dashboard.md, "Alert threshold"). Both null when the strategy gave none (no band, warming
 * up, non-finite bounds); the check keeps the two together and in order. `real` as the score:
 * a drawn line needs no more than 7 digits.
 */
export const scoreThresholds: Migration = {
  version: 15,
  name: 'score-thresholds',
  statements: () => [
    `ALTER TABLE score_history
       ADD COLUMN IF NOT EXISTS lower real,
       ADD COLUMN IF NOT EXISTS upper real,
       ADD CONSTRAINT score_history_threshold_check
         CHECK ((lower IS NULL) = (upper IS NULL) AND lower <= upper)`,
  ],
};
