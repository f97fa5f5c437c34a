/**
 * Shadow scoring inside one scoring shard (docs/shadow.md): a candidate strategy version scores
 * the same points as the active strategy, in the same order, with detector state of its own. A
 * series is shadowed by a run when promoting the candidate would route it to the candidate.
 * Only points the active strategy scores are shadow-scored, so both sides see exactly the same
 * points. The candidate's events are marked with the run id and never reach the live feed.
 *
 * Overhead: series no run shadows pay one map lookup per point; shadowed series pay two clock
 * reads per side, which is what the latency comparison measures.
 */
import { compileStrategy } from '../../core/strategy/compile.js';
import type { SeriesPipeline } from '../../core/strategy/pipeline.js';
import { compileTriggerRules, type SeriesIdentity } from '../../core/strategy/rules.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { EventChange } from '../../core/events/types.js';
import type { StoredEvent } from '../../store/store.js';
import { emptyCounters, type ShadowCounters, type ShadowSpec } from './types.js';

/** What the shard tells a scorer about a series (its state object is the cache key). */
export interface ShadowSeries extends SeriesIdentity {
  readonly device: string;
  readonly metric: string;
}

/** The active routing a shadowed series is judged against (the shard's routes, in order). */
export interface ActiveRouting {
  readonly routes: readonly {
    readonly name: string;
    readonly test: (s: SeriesIdentity) => boolean;
  }[];
  readonly fallbackName: string;
}

/** A candidate event, already in its stored form. */
export interface ShadowEventOut {
  readonly change: EventChange;
  readonly stored: StoredEvent;
}

export type StoredEventOf = (
  change: EventChange,
  device: string,
  metric: string,
  strategy: Strategy,
) => StoredEvent;

interface Run {
  readonly spec: ShadowSpec;
  readonly make: (key: string) => SeriesPipeline;
  readonly test: (s: SeriesIdentity) => boolean;
  /** Candidate pipelines by `device\u0000metric`, kept when routing changes. */
  readonly pipelines: Map<string, { pipeline: SeriesPipeline; last: number; series: ShadowSeries }>;
  counters: ShadowCounters;
}

interface Entry {
  readonly run: Run;
  readonly state: { pipeline: SeriesPipeline; last: number; series: ShadowSeries };
}

const NONE: readonly Entry[] = [];

/** The shadow runs of one shard. */
export class ShadowScorer {
  private readonly runs: Run[] = [];
  /** Runs shadowing each series, by the shard's series state object; cleared on routing changes. */
  private readonly bySeries = new Map<object, readonly Entry[]>();
  /** Events of the batch being scored. */
  events: ShadowEventOut[] = [];

  constructor(
    specs: readonly ShadowSpec[],
    private routing: ActiveRouting,
    private readonly storedEventOf: StoredEventOf,
  ) {
    for (const spec of specs) this.runs.push(this.compile(spec));
  }

  get empty(): boolean {
    return this.runs.length === 0;
  }

  private compile(spec: ShadowSpec): Run {
    return {
      spec,
      make: compileStrategy(spec.strategy),
      test: compileTriggerRules(spec.strategy.trigger_rules),
      pipelines: new Map(),
      counters: emptyCounters(spec.run),
    };
  }

  /** Would promoting the run's candidate route this series to it? (as strategy-slots.ts does) */
  private shadows(run: Run, series: SeriesIdentity): boolean {
    const name = run.spec.strategy.name;
    const { routes, fallbackName } = this.routing;
    if (name === fallbackName) return !routes.some((r) => r.test(series));
    // Promotion orders the routed strategies by name, the candidate in its name's place.
    const ordered = [...routes.filter((r) => r.name !== name), { name, test: run.test }].sort(
      (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    return ordered.find((r) => r.test(series))?.name === name;
  }

  /**
   * Replace the set of runs. Runs kept keep their state; the open events of runs removed are
   * closed at their last scored time and returned.
   */
  setRuns(specs: readonly ShadowSpec[]): ShadowEventOut[] {
    this.events = [];
    const wanted = new Map(specs.map((s) => [s.run, s]));
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i] as Run;
      if (wanted.has(run.spec.run)) {
        wanted.delete(run.spec.run);
        continue;
      }
      for (const s of run.pipelines.values()) {
        const closed = s.pipeline.flushEvents(s.last);
        if (closed !== null) this.emit(run, s.series, closed);
      }
      this.runs.splice(i, 1);
    }
    for (const spec of wanted.values()) this.runs.push(this.compile(spec));
    this.bySeries.clear();
    return this.events;
  }

  /** The active routing changed (hot reload): which series each run shadows is decided again. */
  setRouting(routing: ActiveRouting): void {
    this.routing = routing;
    this.bySeries.clear();
  }

  private entries(key: object, series: ShadowSeries): readonly Entry[] {
    let entries = this.bySeries.get(key);
    if (entries === undefined) {
      const found: Entry[] = [];
      for (const run of this.runs) {
        if (!this.shadows(run, series)) continue;
        const id = `${series.device}\u0000${series.metric}`;
        let state = run.pipelines.get(id);
        if (state === undefined) {
          state = {
            pipeline: run.make(`${series.device}/${series.metric}`),
            last: Number.NEGATIVE_INFINITY,
            series,
          };
          run.pipelines.set(id, state);
          run.counters.series++;
        }
        found.push({ run, state });
      }
      entries = found.length === 0 ? NONE : found;
      this.bySeries.set(key, entries);
    }
    return entries;
  }

  /**
   * Score one point with the active pipeline and, when the series is shadowed, with each
   * candidate; returns the active score. `key` identifies the series (its state object).
   */
  score(
    key: object,
    series: ShadowSeries,
    active: SeriesPipeline,
    t: number,
    value: number,
  ): number {
    const entries = this.entries(key, series);
    if (entries.length === 0) return active.process(t, value);
    const started = process.hrtime.bigint();
    const score = active.process(t, value);
    const activeNs = Number(process.hrtime.bigint() - started);
    for (const { run, state } of entries) {
      const c = run.counters;
      const before = process.hrtime.bigint();
      state.pipeline.process(t, value);
      c.candidateNs += Number(process.hrtime.bigint() - before);
      c.activeNs += activeNs;
      c.points++;
      c.firstTime ??= t;
      if (c.lastTime === null || t > c.lastTime) c.lastTime = t;
      state.last = t;
      const change = state.pipeline.lastEventChange;
      if (change !== null) this.emit(run, series, change);
    }
    return score;
  }

  private emit(run: Run, series: ShadowSeries, change: EventChange): void {
    const stored = this.storedEventOf(change, series.device, series.metric, run.spec.strategy);
    // Its own id: the candidate, once promoted, may raise the same event as a live one.
    this.events.push({
      change,
      stored: { ...stored, id: `${stored.id}#shadow-${run.spec.run}`, shadowRun: run.spec.run },
    });
  }

  /** Counters of every run since this shard started it, with the series it shadows. */
  counters(): ShadowCounters[] {
    return this.runs.map((run) => ({
      ...run.counters,
      shadowed: [...run.pipelines.values()].map((s) => [s.series.device, s.series.metric]),
    }));
  }
}
