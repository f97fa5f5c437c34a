/**
 * `vigil nab run --report DIR`: the score table and, per file, the series with its label windows,
 * the strategy's own alarms (flagged points) and NAB's detections at the standard profile's
 * threshold, as `index.html` (self-contained) and `plots/*.svg`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPORT_CSS, flaggedTimes, htmlTable, plotFileName } from '../ab/report-html.js';
import { PROFILE_NAMES, scoreCorpus } from '../nab/index.js';
import type { NabCorpus, NabScore } from '../nab/index.js';
import { warmup } from '../ab/warmup.js';
import { PALETTE, escapeXml, seriesSvg } from '../plot/svg.js';
import type { FalseAlarmReport } from '../false-alarms.js';

const cell = (v: number | null): string => (v === null ? '—' : v.toFixed(2));

export interface NabReportInput {
  readonly strategy: string;
  readonly corpus: NabCorpus;
  readonly score: NabScore;
  readonly scores: readonly Float64Array[];
  readonly levels: readonly Uint8Array[];
  readonly alarms: FalseAlarmReport;
}

/** Write the report; returns the path of index.html. */
export async function writeNabReport(dir: string, input: NabReportInput): Promise<string> {
  const { corpus, score } = input;
  const plotsDir = path.join(dir, 'plots');
  await mkdir(plotsDir, { recursive: true });
  const threshold = score.standard.threshold;

  const table = htmlTable(
    ['category', 'files', 'standard', 'low FP', 'low FN'],
    [
      ...score.perCategory.map((c) => [
        c.category,
        String(c.files),
        ...PROFILE_NAMES.map((p) => cell(c.profiles[p].normalized)),
      ]),
      [
        'corpus',
        String(corpus.files.length),
        ...PROFILE_NAMES.map((p) => cell(score[p].normalized)),
      ],
      ['threshold', '', ...PROFILE_NAMES.map((p) => score[p].threshold.toPrecision(6))],
    ],
  );

  const fileRows: string[][] = [];
  const figures: string[] = [];
  for (let f = 0; f < corpus.files.length; f++) {
    const file = corpus.files[f]!;
    const scores = input.scores[f]!;
    const one = scoreCorpus({ ...corpus, files: [file] }, [scores], {
      thresholds: {
        standard: threshold,
        reward_low_FP_rate: threshold,
        reward_low_FN_rate: threshold,
      },
    }).standard;
    const detections: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      if ((scores[i] as number) >= threshold) detections.push(file.times[i] as number);
    }
    const flagged = flaggedTimes(file.times, { levels: input.levels[f]! });
    fileRows.push([
      file.relPath,
      String(file.times.length),
      `${one.windowsDetected} / ${one.windows}`,
      String(one.counts.fp),
      String(flagged.length),
      cell(one.normalized),
    ]);
    const svg = seriesSvg({
      title: file.relPath,
      times: file.times,
      values: file.values,
      windows: file.windows,
      ...warmup(file.times),
      markers: [
        { name: 'alarms', color: PALETTE[0], times: flagged },
        { name: 'NAB', color: PALETTE[1], times: detections },
      ],
    });
    const name = plotFileName(file.relPath);
    await writeFile(path.join(plotsDir, name), svg);
    figures.push(`<figure id="${escapeXml(name.replace('.svg', ''))}">${svg}</figure>`);
  }

  const part = (r: FalseAlarmReport['noAnomaly']): string =>
    `${r.eventsPer10k.toFixed(2)} events and ${r.flaggedPer10k.toFixed(2)} flagged points per 10,000`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NAB: ${escapeXml(input.strategy)}</title>
<style>${REPORT_CSS}</style></head><body>
<h1>NAB: ${escapeXml(input.strategy)}</h1>
<p>${corpus.files.length} files, ${corpus.files.reduce((n, f) => n + f.times.length, 0)} points from ${escapeXml(corpus.dataDir)}. Scores are NAB-normalised (null detector 0, perfect 100), thresholds optimised per profile (${score.optimizer}).</p>
<h2>Scores</h2>
${table}
<p>False alarms: artificialNoAnomaly ${part(input.alarms.noAnomaly)}; real series outside label windows ${part(input.alarms.realOutsideWindows)}.</p>
<h2>Per file (standard profile, threshold ${threshold.toPrecision(6)})</h2>
${htmlTable(['file', 'points', 'windows detected', 'NAB false positives', 'flagged points', 'standard'], fileRows)}
<p class="legend"><span><i class="swatch" style="background:#fde68a"></i>label window</span><span><i class="swatch" style="background:#e5e7eb"></i>warm-up (NAB probation, not counted)</span><span><i class="swatch" style="background:${PALETTE[0]}"></i>alarms: points the strategy flagged (alert or severe)</span><span><i class="swatch" style="background:${PALETTE[1]}"></i>NAB: anomaly score ≥ the standard threshold</span></p>
${figures.join('\n')}
</body></html>
`;
  const index = path.join(dir, 'index.html');
  await writeFile(index, html);
  return index;
}
