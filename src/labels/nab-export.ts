/**
 * Feedback labels → NAB labels, so strategies can be scored on the team's own data
 * (docs/labels.md). Each series with at least one labelled event gets an entry keyed
 * `<device>/<metric>.csv`; every event labelled `anomaly` becomes a window from its first to its
 * last flagged point (an open event: to its peak), widened by `padMs` on both sides; windows that
 * overlap or touch are merged. Events labelled `false_alarm` or `unsure` add no window but still
 * put their series in the file (with `[]`), so a strategy's alarms there count as false.
 * A device-level (multivariate) event labels every metric of its peak.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NAB_PROFILES } from '../eval/nab/fixtures.js';
import type { Store, StoredEvent } from '../store/store.js';

export type WindowsJson = Record<string, [string, string][]>;

/** A file-name-safe path segment: anything but letters, digits, `.`, `_`, `-` becomes `_`. */
function segment(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

/** The relative path a series has in exported labels and data folders. */
export function seriesFileKey(device: string, metric: string): string {
  return `${segment(device)}/${segment(metric)}.csv`;
}

/** `YYYY-MM-DD HH:MM:SS[.fff]` in UTC: the NAB timestamp format, milliseconds kept when present. */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  const base = iso.slice(0, 19).replace('T', ' ');
  return ms % 1000 === 0 ? base : `${base}${iso.slice(19, 23)}`;
}

export interface SeriesRef {
  readonly device: string;
  readonly metric: string;
}

export interface NabLabels {
  /** combined_windows.json content, keys sorted. */
  readonly windows: WindowsJson;
  /** The series behind each key. */
  readonly series: ReadonlyMap<string, SeriesRef>;
}

/** Build NAB windows from labelled events (unlabelled ones are ignored). */
export function nabLabelsFromEvents(events: readonly StoredEvent[], padMs = 0): NabLabels {
  const spans = new Map<string, [number, number][]>();
  const series = new Map<string, SeriesRef>();
  for (const e of events) {
    if (e.label === undefined) continue;
    const metrics = e.metric !== null ? [e.metric] : Object.keys(e.peak.values);
    for (const metric of metrics) {
      const key = seriesFileKey(e.device, metric);
      series.set(key, { device: e.device, metric });
      const list = spans.get(key) ?? [];
      spans.set(key, list);
      if (e.label.label !== 'anomaly') continue;
      const end = e.end ?? Math.max(e.start, e.peak.time);
      list.push([e.start - padMs, end + padMs]);
    }
  }
  const windows: WindowsJson = {};
  for (const key of [...spans.keys()].sort()) {
    const merged: [number, number][] = [];
    for (const [a, b] of (spans.get(key) ?? []).sort((x, y) => x[0] - y[0])) {
      const last = merged[merged.length - 1];
      if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    windows[key] = merged.map(([a, b]) => [formatTimestamp(a), formatTimestamp(b)]);
  }
  return { windows, series };
}

const PAGE = 10_000;

/** Every labelled event in the store, newest first (paged by start time). */
export async function labelledEvents(store: Store): Promise<StoredEvent[]> {
  const out = new Map<string, StoredEvent>();
  let to: number | undefined;
  for (;;) {
    const page = await store.querier.events({
      label: 'any',
      limit: PAGE,
      ...(to === undefined ? {} : { to: to + 1 }),
    });
    let added = 0;
    for (const e of page) {
      if (!out.has(e.id)) {
        out.set(e.id, e);
        added++;
      }
    }
    if (page.length < PAGE || added === 0) break;
    to = page[page.length - 1]!.start;
  }
  return [...out.values()];
}

/** NAB's profiles.json for the shipped cost matrices. */
function profilesJson(): string {
  const doc = Object.fromEntries(
    Object.entries(NAB_PROFILES).map(([name, m]) => [name, { CostMatrix: m }]),
  );
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * Write a NAB-layout corpus of the labelled series under `dir`: `data/<device>/<metric>.csv`
 * (`timestamp,value`, every stored point with a number), `labels/combined_windows.json`,
 * `config/profiles.json` and empty published-results files (`config/thresholds.json`,
 * `results/final_results.json`); `vigil ab`, `vigil nab run` and `vigil nab score` read it as they read
 * NAB. Series without any stored number are left out. Returns the files written per key.
 */
export async function writeNabCorpus(
  store: Store,
  labels: NabLabels,
  dir: string,
): Promise<{ readonly files: number; readonly points: number }> {
  const kept: WindowsJson = {};
  let points = 0;
  for (const [key, ref] of labels.series) {
    const lines = await seriesLines(store, ref);
    if (lines.length === 0) continue;
    const file = path.join(dir, 'data', ...key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `timestamp,value\n${lines.join('\n')}\n`);
    kept[key] = labels.windows[key] ?? [];
    points += lines.length;
  }
  await mkdir(path.join(dir, 'labels'), { recursive: true });
  await mkdir(path.join(dir, 'config'), { recursive: true });
  const sorted = Object.fromEntries(Object.entries(kept).sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeFile(
    path.join(dir, 'labels', 'combined_windows.json'),
    JSON.stringify(sorted, null, 2) + '\n',
  );
  await writeFile(path.join(dir, 'config', 'profiles.json'), profilesJson());
  // `vigil nab score` also reads NAB's published thresholds and scoreboard: none for our data.
  await writeFile(path.join(dir, 'config', 'thresholds.json'), '{}\n');
  await mkdir(path.join(dir, 'results'), { recursive: true });
  await writeFile(path.join(dir, 'results', 'final_results.json'), '{}\n');
  return { files: Object.keys(kept).length, points };
}

/** `timestamp,value` lines of every stored point of a series that has a number. */
async function seriesLines(store: Store, ref: SeriesRef): Promise<string[]> {
  const info = (await store.querier.series(ref.device)).find((s) => s.metric === ref.metric);
  if (info === undefined) return [];
  const lines: string[] = [];
  let from = info.first;
  for (;;) {
    const page = await store.querier.points({
      device: ref.device,
      metric: ref.metric,
      from,
      to: info.last + 1,
      limit: 100_000,
    });
    if (page.kind !== 'raw') break;
    for (let i = 0; i < page.times.length; i++) {
      const v = page.values[i] as number;
      if (Number.isFinite(v)) lines.push(`${formatTimestamp(page.times[i] as number)},${v}`);
    }
    if (!page.truncated || page.times.length === 0) break;
    from = (page.times[page.times.length - 1] as number) + 1;
  }
  return lines;
}
