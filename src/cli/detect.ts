import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import cliProgress from 'cli-progress';
import { openCsvTable, type CsvRow } from '../ingest/csv/csv-table.js';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
  withTrainingRows,
} from '../core/strategy/compile.js';
import { resolveStrategy } from '../strategy-files/load.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Level } from '../core/thresholds/threshold.js';
import type { AnomalyEvent, EventChange } from '../core/events/types.js';
import type { OpenSpan } from '../core/events/event-tracker.js';
import { deprecatedEventKeys } from '../core/events/params.js';
import type { EventReporting } from '../core/strategy/pipeline.js';

export interface DetectOptions {
  readonly input: string;
  /** Output CSV; standard output when omitted. */
  readonly output?: string;
  readonly strategy: string;
  readonly timeColumn?: string;
  /** The first rows are learned as normal and never flagged. */
  readonly trainRows: number;
  /** Where to write the events (one JSON object per line), with their explanations. */
  readonly events?: string;
}

export interface DetectSummary {
  readonly rows: number;
  readonly alerts: number;
  readonly severe: number;
  /** Events raised (faults, not points). */
  readonly events: number;
  readonly seconds: number;
}

const LEVEL_RANK: Record<Level, number> = { ok: 0, alert: 1, severe: 2 };

/** How one CSV row is scored: its verdict and any extra output cells. */
interface RowScorer {
  /** Output columns after the input's own: `VERDICT_COLUMNS`, then those of `extra`. */
  readonly columns: readonly string[];
  /** Score a row (or learn it as normal when `training`); returns the extra cells. */
  score(row: CsvRow, training: boolean): { score: number; level: Level; extra: string[] };
  /** The pipelines, whose event changes the caller collects. */
  readonly pipelines: readonly EventReporting[];
}

/** The columns every output gets after the input's own; a vector strategy adds `top_metrics`. */
const VERDICT_COLUMNS = ['score', 'level', 'is_anomaly', 'in_event', 'event_id'] as const;

/**
 * Which rows one pipeline's events contain, by row number: a row is inside an event from the
 * event's first point up to its last abnormal one (the data are back to normal after it). A row is
 * decided once no event being built can still take it: rows of a reported event up to its latest
 * abnormal point at once, the rows after it (a normal run that may still turn abnormal) and those
 * of an event not yet reported (it may be dropped) when the event closes.
 */
export class RowSpans {
  /** First row of the span being built, −1 when none. */
  private startRow = -1;
  /** Latest abnormal row of the span being built. */
  private lastAbnormal = -1;
  /** The span's event id once reported. */
  private id: string | null = null;
  /** Closed events as inclusive row ranges, oldest first, until the output has passed them. */
  private readonly closed: { from: number; to: number; id: string }[] = [];

  /** After the pipeline took row `row` (or flushed at the end): its change and open span. */
  observe(row: number, change: EventChange | null, span: OpenSpan | null): void {
    if (change?.type === 'close' && this.startRow >= 0) {
      this.closed.push({ from: this.startRow, to: this.lastAbnormal, id: change.event.id });
    }
    if (span === null) {
      this.startRow = -1;
      this.id = null;
      return;
    }
    if (this.startRow < 0) this.startRow = row;
    if (span.normalRun === 0) this.lastAbnormal = row;
    this.id = span.id;
  }

  /** Rows before this one are decided. */
  settledBefore(): number {
    if (this.startRow < 0) return Number.POSITIVE_INFINITY;
    return this.id === null ? this.startRow : this.lastAbnormal + 1;
  }

  /** The id of the event holding a decided row, or null; ask rows in increasing order. */
  eventOf(row: number): string | null {
    while (this.closed.length > 0 && this.closed[0]!.to < row) this.closed.shift();
    const first = this.closed[0];
    if (first !== undefined && first.from <= row) return first.id;
    const open = this.id !== null && row >= this.startRow && row <= this.lastAbnormal;
    return open ? this.id : null;
  }
}

/** The latest state of every event, by id, in the order they opened. */
class EventLog {
  private readonly byId = new Map<string, AnomalyEvent>();

  take(change: EventChange | null): void {
    if (change !== null) this.byId.set(change.event.id, change.event);
  }

  get events(): AnomalyEvent[] {
    return [...this.byId.values()];
  }
}

/** Each value column is its own series; the row's score and level are the highest of them. */
function seriesScorer(strategy: Strategy, names: readonly string[], device: string): RowScorer {
  const pipelineFor = compileStrategy(strategy);
  const pipelines = names.map((name) => pipelineFor(`${device}/${name}`));
  return {
    columns: VERDICT_COLUMNS,
    pipelines,
    score(row, training) {
      let score = 0;
      let level: Level = 'ok';
      if (training) {
        for (let j = 0; j < pipelines.length; j++) pipelines[j]!.train(row.timeMs, row.values[j]!);
      } else {
        for (let j = 0; j < pipelines.length; j++) {
          const pipeline = pipelines[j]!;
          score = Math.max(score, pipeline.process(row.timeMs, row.values[j]!));
          if (LEVEL_RANK[pipeline.lastLevel] > LEVEL_RANK[level]) level = pipeline.lastLevel;
        }
      }
      return { score, level, extra: [] };
    },
  };
}

/**
 * A vector strategy: the value columns together are one device's vector. Flagged rows name the
 * metrics that explain them (`top_metrics`).
 */
function deviceScorer(strategy: Strategy, names: readonly string[], device: string): RowScorer {
  const pipeline = compileDeviceStrategy(strategy, names)(device);
  const shares = new Float64Array(names.length);
  return {
    columns: [...VERDICT_COLUMNS, 'top_metrics'],
    pipelines: [pipeline],
    score(row, training) {
      if (training) {
        pipeline.train(row.timeMs, row.values);
        return { score: 0, level: 'ok', extra: [''] };
      }
      const score = pipeline.process(row.timeMs, row.values);
      const level = pipeline.lastLevel;
      if (level === 'ok') return { score, level, extra: [''] };
      pipeline.contributions(shares);
      return { score, level, extra: [formatTopMetrics(names, shares)] };
    },
  };
}

/**
 * The metrics that explain a multivariate anomaly, largest share first, as `flow:0.71;pressure:0.22`:
 * at most `max` of them, and only those with a share of at least `min`.
 */
export function formatTopMetrics(
  names: readonly string[],
  shares: Float64Array,
  max = 3,
  min = 0.05,
): string {
  return Array.from(shares, (share, i) => ({ share, i }))
    .filter(({ share }) => share >= min)
    .sort((a, b) => b.share - a.share || a.i - b.i)
    .slice(0, max)
    .map(({ share, i }) => `${names[i]}:${share.toFixed(2)}`)
    .join(';');
}

/**
 * Scores a CSV with one strategy, streaming row by row. With a univariate strategy each numeric
 * column is its own series; with a vector strategy (`hotelling`, `pca`) all numeric columns form
 * one device vector. Each row gets its score, level and `is_anomaly`, and `in_event` / `event_id`
 * for the event (fault span, docs/events.md) that holds it. The output file is written under a temporary name and renamed only when
 * complete, so a failed run never leaves a file that looks finished.
 */
export async function detectCsv(options: DetectOptions): Promise<DetectSummary> {
  // --train-rows replaces the strategy's training period: one period governs.
  const strategy = withTrainingRows(await resolveStrategy(options.strategy), options.trainRows);
  const input = createReadStream(options.input);
  const table = await openCsvTable(input, {
    source: options.input,
    ...(options.timeColumn === undefined ? {} : { timeColumn: options.timeColumn }),
  });
  const device = path.basename(options.input, path.extname(options.input));
  const makeScorer = isVectorStrategy(strategy) ? deviceScorer : seriesScorer;
  const scorer = makeScorer(strategy, table.header.valueNames, device);

  for (const warning of deprecatedEventKeys(strategy.events)) {
    process.stderr.write(`warning: ${warning}\n`);
  }

  const temporary =
    options.output === undefined ? undefined : `${options.output}.partial-${process.pid}`;
  const sink: Writable =
    temporary === undefined ? process.stdout : createWriteStream(temporary, { flags: 'wx' });
  const csv = stringify();
  // pipeline() ends or destroys both sides together, so a failure never leaves a dangling write.
  const written = pipeline(csv, sink, { end: temporary !== undefined });
  const progress = await startProgress(options.input);
  const log = new EventLog();
  const spans = scorer.pipelines.map(() => new RowSpans());
  /** Scored rows whose events are not decided yet (in order): the verdict cells wait for them. */
  const held: { row: number; head: unknown[]; extra: string[] }[] = [];
  const release = async (before: number): Promise<void> => {
    while (held.length > 0 && held[0]!.row < before) {
      const { row, head, extra } = held.shift()!;
      const ids: string[] = [];
      for (const s of spans) {
        const id = s.eventOf(row);
        if (id !== null) ids.push(id);
      }
      // Several columns' events can hold one row: their ids, `;`-separated.
      const cells = [...head, ids.length > 0 ? 1 : 0, ids.join(';'), ...extra];
      if (!csv.write(cells)) await once(csv, 'drain');
    }
  };
  const observe = (row: number, flush: boolean): void => {
    scorer.pipelines.forEach((p, k) => {
      const change = flush ? p.flushEvents(lastTime) : p.lastEventChange;
      log.take(change);
      spans[k]!.observe(row, change, flush ? null : p.eventSpan);
    });
  };
  const started = performance.now();
  let lastTime = 0;
  let rows = 0;
  let alerts = 0;
  let severe = 0;
  try {
    csv.write([...table.header.columns, ...scorer.columns]);
    for await (const row of table.rows) {
      const { score, level, extra } = scorer.score(row, rows < options.trainRows);
      if (level === 'alert') alerts++;
      else if (level === 'severe') severe++;
      lastTime = row.timeMs;
      observe(rows, false);
      held.push({
        row: rows,
        head: [...row.cells, score.toFixed(6), level, level === 'ok' ? 0 : 1],
        extra,
      });
      rows++;
      await release(Math.min(...spans.map((s) => s.settledBefore())));
      if (progress !== undefined && (rows & 1023) === 0) progress.update(input.bytesRead);
    }
    observe(rows - 1, true);
    await release(Number.POSITIVE_INFINITY);
    csv.end();
    await written;
    if (options.events !== undefined) await writeEvents(options.events, log.events);
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
  const seconds = (performance.now() - started) / 1000;
  return { rows, alerts, severe, events: log.events.length, seconds };
}

/** Events as JSON lines, written whole under a temporary name like the scored CSV. */
async function writeEvents(file: string, events: readonly AnomalyEvent[]): Promise<void> {
  const temporary = `${file}.partial-${process.pid}`;
  await writeFile(temporary, events.map((e) => JSON.stringify(e) + '\n').join(''), { flag: 'wx' });
  await rename(temporary, file);
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
