import type { NabScore, ProfileName } from '../nab/index.js';
import type { FalseAlarmReport } from '../false-alarms.js';

const PROFILES: readonly ProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

/** The last line of `nab score` and `nab run`: one JSON object, easy for scripts to read. */
export function scoreLine(score: NabScore): string {
  return JSON.stringify({
    standard: round(score.standard.normalized),
    reward_low_FP_rate: round(score.reward_low_FP_rate.normalized),
    reward_low_FN_rate: round(score.reward_low_FN_rate.normalized),
  });
}

/** A fixed-width table: one row per category, then the corpus, with each profile's threshold. */
export function scoreTable(score: NabScore): string {
  const header = ['category', 'files', 'standard', 'low FP', 'low FN'];
  const rows: string[][] = score.perCategory.map((c) => [
    c.category,
    String(c.files),
    ...PROFILES.map((p) => cell(c.profiles[p].normalized)),
  ]);
  rows.push([
    'corpus',
    String(score.perCategory.reduce((n, c) => n + c.files, 0)),
    ...PROFILES.map((p) => cell(score[p].normalized)),
  ]);
  rows.push(['threshold', '', ...PROFILES.map((p) => score[p].threshold.toPrecision(6))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function cell(value: number | null): string {
  return value === null ? '—' : value.toFixed(2);
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1e6) / 1e6;
}

/** False alarms beside the scores: events and flagged points per 10,000 points that are normal. */
export function alarmLine(report: FalseAlarmReport): string {
  const part = (r: FalseAlarmReport['noAnomaly']): string =>
    `${r.eventsPer10k.toFixed(2)} events, ${r.flaggedPer10k.toFixed(2)} flagged points`;
  return (
    `false alarms per 10,000 points: artificialNoAnomaly ${part(report.noAnomaly)}; ` +
    `real series outside label windows ${part(report.realOutsideWindows)}`
  );
}
