/**
 * The A/B report as files: `report.html` (self-contained: styles and SVG inline, no network),
 * `report.json`, and every plot as its own SVG under `plots/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NabCorpus } from '../nab/index.js';
import { warmup } from './warmup.js';
import { PALETTE, barChartSvg, escapeXml, seriesSvg } from '../plot/svg.js';
import type { Comparison, SideMetrics } from './compare.js';
import type { FileRun, PairRun } from './replay.js';
import { jsonReport, overallRows } from './report-text.js';
import type { AbMeta } from './report-text.js';

/** A file name for a plot of `relPath` (folders flattened). */
export function plotFileName(relPath: string): string {
  return `${relPath.replace(/\.csv$/, '').replace(/[^A-Za-z0-9._-]+/g, '__')}.svg`;
}

export const REPORT_CSS = `
body{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:1000px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f0f0f0}
.verdict{font-weight:bold;padding:.5rem;background:#eef6ee;border-left:4px solid #15803d}
figure{margin:1rem 0}figure.chart{display:inline-block;margin-right:1rem}svg{max-width:100%;height:auto}
.legend span{display:inline-block;margin-right:1rem}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
`;

export function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = header.map((h) => `<th scope="col">${escapeXml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Times of the flagged rows of a run: the detections drawn on the plots. */
export function flaggedTimes(times: Float64Array, run: Pick<FileRun, 'levels'>): number[] {
  const out: number[] = [];
  for (let i = 0; i < run.levels.length; i++)
    if ((run.levels[i] as number) >= 1) out.push(times[i] as number);
  return out;
}

function metricCharts(c: Comparison, names: { a: string; b: string }): [string, string][] {
  const series = (f: (m: SideMetrics) => (number | null)[]) => [
    { name: `A ${names.a}`, color: PALETTE[0], values: f(c.a) },
    { name: `B ${names.b}`, color: PALETTE[1], values: f(c.b) },
  ];
  return [
    [
      'quality.svg',
      barChartSvg({
        title: 'Window-based precision, recall, F1',
        categories: ['precision', 'recall', 'F1'],
        series: series((m) => [m.precision, m.recall, m.f1]),
      }),
    ],
    [
      'nab.svg',
      barChartSvg({
        title: 'NAB score (normalised, optimised thresholds)',
        categories: ['standard', 'low FP', 'low FN', 'standard at own alarms'],
        series: series((m) => [
          m.nab.standard,
          m.nab.reward_low_FP_rate,
          m.nab.reward_low_FN_rate,
          m.nabAtAlarms.standard,
        ]),
      }),
    ],
    [
      'false-positive-rate.svg',
      barChartSvg({
        title: 'False-positive rate (% of points outside windows flagged)',
        categories: ['FPR %'],
        width: 360,
        series: series((m) => [m.falsePositiveRate === null ? null : 100 * m.falsePositiveRate]),
      }),
    ],
    [
      'alarms.svg',
      barChartSvg({
        title: 'Alarms (events) per 10,000 points',
        categories: ['alarms / 10k'],
        width: 360,
        series: series((m) => [m.alarmsPer10k]),
      }),
    ],
    [
      'delay.svg',
      barChartSvg({
        title: 'Mean detection delay (points from window start)',
        categories: ['delay (points)'],
        width: 360,
        series: series((m) => [m.meanDelayPoints]),
      }),
    ],
    [
      'latency.svg',
      barChartSvg({
        title: 'Per-point latency (ns per point, measured)',
        categories: ['ns / point'],
        width: 360,
        series: series((m) => [m.nsPerPoint]),
      }),
    ],
  ];
}

/** Write report.html, report.json and plots/*.svg under `outDir`; returns the HTML path. */
export async function writeAbReport(
  outDir: string,
  meta: AbMeta,
  corpus: NabCorpus,
  run: PairRun,
  c: Comparison,
): Promise<string> {
  const plotsDir = path.join(outDir, 'plots');
  await mkdir(plotsDir, { recursive: true });
  const names = { a: meta.a.name, b: meta.b.name };
  const charts = metricCharts(c, names);
  const seriesPlots = corpus.files.map((file, f): [string, string] => [
    plotFileName(file.relPath),
    seriesSvg({
      title: file.relPath,
      times: file.times,
      values: file.values,
      windows: file.windows,
      ...warmup(file.times),
      markers: [
        { name: 'A', color: PALETTE[0], times: flaggedTimes(file.times, run.a[f]!) },
        { name: 'B', color: PALETTE[1], times: flaggedTimes(file.times, run.b[f]!) },
      ],
    }),
  ]);
  await Promise.all(
    [...charts, ...seriesPlots].map(([name, svg]) => writeFile(path.join(plotsDir, name), svg)),
  );
  await writeFile(
    path.join(outDir, 'report.json'),
    JSON.stringify(jsonReport(meta, c), null, 2) + '\n',
  );

  const fileRows = c.files.map((f) => [
    f.relPath,
    String(f.points),
    String(f.windows),
    fmt(f.a.f1),
    fmt(f.b.f1),
    `${f.a.counts.falseAlarms}`,
    `${f.b.counts.falseAlarms}`,
    fmt(f.a.nabStandard, 1),
    fmt(f.b.nabStandard, 1),
  ]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil A/B: ${escapeXml(names.a)} vs ${escapeXml(names.b)}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>A/B: ${escapeXml(names.a)} vs ${escapeXml(names.b)}</h1>
<p>A: <b>${escapeXml(names.a)}</b> (${escapeXml(meta.a.source)}); B: <b>${escapeXml(names.b)}</b> (${escapeXml(meta.b.source)}).
Data: ${escapeXml(meta.data)} (${meta.layout} layout${meta.labels ? `, labels from ${escapeXml(meta.labels)}` : ''}), ${meta.files} files, ${meta.points} points, replayed through both strategies in the same order.</p>
<p class="verdict">${escapeXml(c.verdictLine)}</p>
<h2>Overall</h2>
${htmlTable(['metric', `A ${names.a}`, `B ${names.b}`], overallRows(c))}
<p>Definitions (docs/ab-testing.md): a label window is detected when a flagged point lies in it; an alarm is an event, false when it overlaps no window; precision = detected windows / (detected windows + false alarms); the false-positive rate is per point outside windows; NAB's probationary rows are not counted.</p>
${charts.map(([name, svg]) => `<figure class="chart" id="${name.replace('.svg', '')}">${svg}</figure>`).join('\n')}
<h2>Per file</h2>
${htmlTable(['file', 'points', 'windows', 'F1 A', 'F1 B', 'false alarms A', 'false alarms B', 'NAB std A', 'NAB std B'], fileRows)}
<p class="legend"><span><i class="swatch" style="background:#fde68a"></i>label window</span><span><i class="swatch" style="background:#e5e7eb"></i>warm-up (NAB probation, not counted)</span><span><i class="swatch" style="background:${PALETTE[0]}"></i>A flagged</span><span><i class="swatch" style="background:${PALETTE[1]}"></i>B flagged</span></p>
${seriesPlots.map(([, svg]) => `<figure>${svg}</figure>`).join('\n')}
</body></html>
`;
  const htmlPath = path.join(outDir, 'report.html');
  await writeFile(htmlPath, html);
  return htmlPath;
}

function fmt(v: number | null, digits = 3): string {
  return v === null ? '—' : v.toFixed(digits);
}
