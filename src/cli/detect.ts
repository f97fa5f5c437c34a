import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import cliProgress from 'cli-progress';
import { openCsvTable } from '../ingest/csv/csv-table.js';
import { compileStrategy } from '../core/strategy/compile.js';
import { resolveStrategy } from '../core/strategy/load.js';
import type { Level } from '../core/thresholds/threshold.js';

export interface DetectOptions {
  readonly input: string;
  /** Output CSV; standard output when omitted. */
  readonly output?: string;
  readonly strategy: string;
  readonly timeColumn?: string;
  /** The first rows are learned as normal and never flagged. */
  readonly trainRows: number;
}

export interface DetectSummary {
  readonly rows: number;
  readonly alerts: number;
  readonly severe: number;
  readonly seconds: number;
}

const LEVEL_RANK: Record<Level, number> = { ok: 0, alert: 1, severe: 2 };

/**
 * Scores every numeric column of a CSV with one strategy, streaming row by row. Each column is
 * its own series; a row's score and level are the highest of its columns. The output file is
 * written under a temporary name and renamed only when complete, so a failed run never leaves a
 * file that looks finished.
 */
export async function detectCsv(options: DetectOptions): Promise<DetectSummary> {
  const strategy = await resolveStrategy(options.strategy);
  const pipelineFor = compileStrategy(strategy);
  const input = createReadStream(options.input);
  const table = await openCsvTable(input, {
    source: options.input,
    ...(options.timeColumn === undefined ? {} : { timeColumn: options.timeColumn }),
  });
  const device = path.basename(options.input, path.extname(options.input));
  const pipelines = table.header.valueNames.map((name) => pipelineFor(`${device}/${name}`));

  const temporary =
    options.output === undefined ? undefined : `${options.output}.partial-${process.pid}`;
  const sink: Writable =
    temporary === undefined ? process.stdout : createWriteStream(temporary, { flags: 'wx' });
  const csv = stringify();
  // pipeline() ends or destroys both sides together, so a failure never leaves a dangling write.
  const written = pipeline(csv, sink, { end: temporary !== undefined });
  const progress = await startProgress(options.input);
  const started = performance.now();
  let rows = 0;
  let alerts = 0;
  let severe = 0;
  try {
    csv.write([...table.header.columns, 'score', 'level', 'is_anomaly']);
    for await (const row of table.rows) {
      let score = 0;
      let level: Level = 'ok';
      if (rows < options.trainRows) {
        for (let j = 0; j < pipelines.length; j++) pipelines[j]!.train(row.timeMs, row.values[j]!);
      } else {
        for (let j = 0; j < pipelines.length; j++) {
          const pipeline = pipelines[j]!;
          score = Math.max(score, pipeline.process(row.timeMs, row.values[j]!));
          if (LEVEL_RANK[pipeline.lastLevel] > LEVEL_RANK[level]) level = pipeline.lastLevel;
        }
      }
      if (level === 'alert') alerts++;
      else if (level === 'severe') severe++;
      rows++;
      if (!csv.write([...row.cells, score.toFixed(6), level, level === 'ok' ? 0 : 1])) {
        await once(csv, 'drain');
      }
      if (progress !== undefined && (rows & 1023) === 0) progress.update(input.bytesRead);
    }
    csv.end();
    await written;
    if (temporary !== undefined) await rename(temporary, options.output!);
  } catch (err) {
    csv.destroy();
    input.destroy();
    await written.catch(() => undefined);
    if (temporary !== undefined) await unlink(temporary).catch(() => undefined);
    throw err;
  } finally {
    progress?.stop();
  }
  return { rows, alerts, severe, seconds: (performance.now() - started) / 1000 };
}

/** A progress bar on a terminal only: piped or CI output stays clean. */
async function startProgress(file: string): Promise<cliProgress.SingleBar | undefined> {
  if (!process.stderr.isTTY) return undefined;
  const { size } = await stat(file);
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'scoring [{bar}] {percentage}% | {eta_formatted} left' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(size, 0);
  return bar;
}
