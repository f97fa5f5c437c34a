import type { AnomalyEvent } from '../core/events/types.js';
import { probationLength, type NabCorpus, type NabFile } from './nab/index.js';

/**
 * False alarms, measured where every alarm is false: NAB's `artificialNoAnomaly` files, and the
 * rows of its real files outside every labelled window. Reported beside the NAB score, which
 * prices false positives only through its cost profiles.
 *
 * Both counts are given per 10,000 counted points: events opened (what a user is paged for) and
 * flagged points (what a per-point detector would have raised). As in NAB, the probationary rows
 * at the start of each file (`probationLength`) are not counted: detectors are still learning.
 */

/** One corpus file's output, in `corpus.files` order. */
export interface FileAlarms {
  /** Level code per row, in row order: 0 ok, 1 alert, 2 severe. */
  readonly levels: Uint8Array;
  /**
   * The file's events (e.g. from `replayEvents`). Several changes of the same event (same id)
   * count once; an event counts where it opened, its first flagged row.
   */
  readonly events: readonly AnomalyEvent[];
}

export interface AlarmRate {
  /** Files that contributed counted points. */
  readonly files: number;
  /** Counted points: after the probation, outside every window. */
  readonly points: number;
  /** Counted points flagged alert or severe. */
  readonly flaggedPoints: number;
  /** Counted points flagged severe. */
  readonly severePoints: number;
  /** Events that opened on a counted point. */
  readonly events: number;
  /** Of those, events whose level is severe. */
  readonly severeEvents: number;
  /** `events` per 10,000 `points` (0 when there are no points). */
  readonly eventsPer10k: number;
  /** `flaggedPoints` per 10,000 `points` (0 when there are no points). */
  readonly flaggedPer10k: number;
}

export type FalseAlarmPart = 'no-anomaly' | 'real-outside-windows';

export interface FileFalseAlarms {
  readonly relPath: string;
  readonly part: FalseAlarmPart;
  readonly points: number;
  readonly flaggedPoints: number;
  readonly events: number;
}

export interface FalseAlarmReport {
  /** Files of `artificialNoAnomaly`: every alarm after the probation is false. */
  readonly noAnomaly: AlarmRate;
  /** Files of the `real…` categories: rows after the probation and outside every label window. */
  readonly realOutsideWindows: AlarmRate;
  /** Per file, for finding the noisy ones; files of neither part are left out. */
  readonly files: readonly FileFalseAlarms[];
}

const NO_ANOMALY = 'artificialNoAnomaly';

/** Which part of the measurement a file belongs to, if any. */
export function falseAlarmPart(file: NabFile): FalseAlarmPart | null {
  if (file.category === NO_ANOMALY) return 'no-anomaly';
  return file.category.startsWith('real') ? 'real-outside-windows' : null;
}

/**
 * Alarm rates of one strategy's output over a NAB corpus. `perFile[k]` belongs to
 * `corpus.files[k]`. Windows are taken by time, both ends inclusive, as labelled.
 */
export function falseAlarms(corpus: NabCorpus, perFile: readonly FileAlarms[]): FalseAlarmReport {
  if (perFile.length !== corpus.files.length) {
    throw new Error(
      `falseAlarms: ${perFile.length} outputs for a corpus of ${corpus.files.length} files`,
    );
  }
  const totals = { 'no-anomaly': new Tally(), 'real-outside-windows': new Tally() };
  const files: FileFalseAlarms[] = [];
  corpus.files.forEach((file, k) => {
    const part = falseAlarmPart(file);
    if (part === null) return;
    const output = perFile[k] as FileAlarms;
    const counted = countedRows(file, part);
    const one = countFile(file, output, counted);
    totals[part].add(one);
    files.push({
      relPath: file.relPath,
      part,
      points: one.points,
      flaggedPoints: one.flaggedPoints,
      events: one.events,
    });
  });
  return {
    noAnomaly: totals['no-anomaly'].rate(),
    realOutsideWindows: totals['real-outside-windows'].rate(),
    files,
  };
}

interface FileCount {
  readonly points: number;
  readonly flaggedPoints: number;
  readonly severePoints: number;
  readonly events: number;
  readonly severeEvents: number;
}

class Tally {
  private files = 0;
  private points = 0;
  private flaggedPoints = 0;
  private severePoints = 0;
  private events = 0;
  private severeEvents = 0;

  add(c: FileCount): void {
    if (c.points > 0) this.files++;
    this.points += c.points;
    this.flaggedPoints += c.flaggedPoints;
    this.severePoints += c.severePoints;
    this.events += c.events;
    this.severeEvents += c.severeEvents;
  }

  rate(): AlarmRate {
    const per10k = (n: number): number => (this.points > 0 ? (n * 10_000) / this.points : 0);
    return {
      files: this.files,
      points: this.points,
      flaggedPoints: this.flaggedPoints,
      severePoints: this.severePoints,
      events: this.events,
      severeEvents: this.severeEvents,
      eventsPer10k: per10k(this.events),
      flaggedPer10k: per10k(this.flaggedPoints),
    };
  }
}

/** 1 for each row whose alarms are false: after the probation and (real files) outside windows. */
function countedRows(file: NabFile, part: FalseAlarmPart): Uint8Array {
  const n = file.times.length;
  const counted = new Uint8Array(n);
  for (let i = probationLength(n); i < n; i++) {
    const t = file.times[i] as number;
    const inWindow =
      part === 'real-outside-windows' && file.windows.some(([a, b]) => t >= a && t <= b);
    if (!inWindow) counted[i] = 1;
  }
  return counted;
}

function countFile(file: NabFile, output: FileAlarms, counted: Uint8Array): FileCount {
  const { levels, events } = output;
  if (levels.length !== file.times.length) {
    throw new Error(
      `falseAlarms: ${file.relPath} has ${file.times.length} rows but ${levels.length} levels`,
    );
  }
  let points = 0;
  let flaggedPoints = 0;
  let severePoints = 0;
  for (let i = 0; i < levels.length; i++) {
    if (counted[i] === 0) continue;
    points++;
    const level = levels[i] as number;
    if (level >= 1) flaggedPoints++;
    if (level >= 2) severePoints++;
  }
  const seen = new Set<string>();
  // The final form of each event decides its level (an event may be upgraded after opening).
  const finalLevel = new Map<string, string>();
  for (const e of events) finalLevel.set(e.id, e.level);
  let opened = 0;
  let severeEvents = 0;
  const rowsAt = events.length > 0 ? rowsByTime(file.times) : new Map<number, number[]>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (counted[openingRow(file, levels, rowsAt, e)] === 0) continue;
    opened++;
    if (finalLevel.get(e.id) === 'severe') severeEvents++;
  }
  return { points, flaggedPoints, severePoints, events: opened, severeEvents };
}

/**
 * The row an event opened on: the first flagged row carrying its start time (a few NAB files
 * repeat timestamps), else the first row with that time.
 */
function openingRow(
  file: NabFile,
  levels: Uint8Array,
  rowsAt: ReadonlyMap<number, readonly number[]>,
  event: AnomalyEvent,
): number {
  const rows = rowsAt.get(event.start);
  if (rows === undefined) {
    throw new Error(
      `falseAlarms: event ${event.id} starts at ${event.start}, which is no row of ${file.relPath}`,
    );
  }
  return rows.find((i) => (levels[i] as number) >= 1) ?? (rows[0] as number);
}

/** Row indices by time, in row order. */
function rowsByTime(times: Float64Array): Map<number, number[]> {
  const out = new Map<number, number[]>();
  times.forEach((t, i) => {
    const rows = out.get(t);
    if (rows) rows.push(i);
    else out.set(t, [i]);
  });
  return out;
}
