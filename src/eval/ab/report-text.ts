/** The A/B comparison as a console table and as a JSON document. */
import type { Comparison, SideMetrics } from './compare.js';

export interface AbMeta {
  readonly data: string;
  readonly layout: 'nab' | 'csv';
  readonly labels: string | null;
  readonly a: { readonly name: string; readonly source: string };
  readonly b: { readonly name: string; readonly source: string };
  readonly files: number;
  readonly points: number;
}

const pct = (v: number | null): string => (v === null ? '—' : `${(100 * v).toFixed(2)} %`);
const num = (v: number | null, digits = 2): string => (v === null ? '—' : v.toFixed(digits));

/** Rows of (metric, A, B) for the overall table, formatted. */
export function overallRows(c: Comparison): [string, string, string][] {
  const row = (label: string, f: (m: SideMetrics) => string): [string, string, string] => [
    label,
    f(c.a),
    f(c.b),
  ];
  return [
    row('windows detected', (m) => `${m.counts.detectedWindows} / ${m.counts.windows}`),
    row('alarms (false)', (m) => `${m.counts.alarms} (${m.counts.falseAlarms})`),
    row('precision', (m) => num(m.precision, 3)),
    row('recall', (m) => num(m.recall, 3)),
    row('F1', (m) => num(m.f1, 3)),
    row('false-positive rate', (m) => pct(m.falsePositiveRate)),
    row('alarms per 10k points', (m) => num(m.alarmsPer10k)),
    row('NAB standard', (m) => num(m.nab.standard)),
    row('NAB low FP', (m) => num(m.nab.reward_low_FP_rate)),
    row('NAB low FN', (m) => num(m.nab.reward_low_FN_rate)),
    row('NAB standard at own alarms', (m) => num(m.nabAtAlarms.standard)),
    row('mean delay (points)', (m) => num(m.meanDelayPoints, 1)),
    row('mean delay (time)', (m) => duration(m.meanDelayMs)),
    row('latency (ns/point)', (m) => num(m.nsPerPoint, 0)),
  ];
}

export function duration(ms: number | null): string {
  if (ms === null) return '—';
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function consoleReport(meta: AbMeta, c: Comparison): string {
  const perFile = c.files.map((f) => [
    f.relPath,
    String(f.points),
    String(f.windows),
    `${num(f.a.f1, 2)} | ${num(f.b.f1, 2)}`,
    `${f.a.counts.falseAlarms} | ${f.b.counts.falseAlarms}`,
    `${num(f.a.nabStandard, 1)} | ${num(f.b.nabStandard, 1)}`,
  ]);
  return [
    `A: ${meta.a.name} (${meta.a.source})   B: ${meta.b.name} (${meta.b.source})`,
    `data: ${meta.data} (${meta.layout} layout${meta.labels ? `, labels from ${meta.labels}` : ''}), ` +
      `${meta.files} files, ${meta.points} points`,
    '',
    table(
      ['file', 'points', 'windows', 'F1 A | B', 'false alarms A | B', 'NAB std A | B'],
      perFile,
    ),
    '',
    table(['overall', 'A', 'B'], overallRows(c)),
    '',
    c.verdictLine,
  ].join('\n');
}

/** The JSON report: everything measured, numbers unformatted. */
export function jsonReport(meta: AbMeta, c: Comparison): unknown {
  return {
    meta,
    overall: { a: c.a, b: c.b },
    files: c.files,
    verdict: c.verdict,
    verdictLine: c.verdictLine,
  };
}
