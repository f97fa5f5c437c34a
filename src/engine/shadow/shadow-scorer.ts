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
import { compileStrategy, restorePipeline } from '../../core/strategy/compile.js';
import type { PipelineSnapshot, SeriesPipeline } from '../../core/strategy/pipeline.js';
import { compileTriggerRules, type SeriesIdentity } from '../../core/strategy/rules.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { EventChange } from '../../core/events/types.js';
import type { Checkpoint, StoredEvent } from '../../store/store.js';
import {
  emptyTally,
  shadowKey,
  tallyOf,
  type ShadowTag,
  type ShadowTally,
} from './shadow-checkpoints.js';
import { markDirty, snapshotDirty, type Checkpointed } from '../scoring/checkpointed.js';
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

/** A run's candidate state for one series, with its share of the run's counters. */
interface CandidateState extends Checkpointed {
  readonly pipeline: SeriesPipeline;
  readonly series: ShadowSeries;
  readonly tally: ShadowTally;
}

interface Run {
  readonly spec: ShadowSpec;
  readonly make: (key: string) => SeriesPipeline;
  readonly test: (s: SeriesIdentity) => boolean;
  /** Candidate states by `device\u0000metric`, kept when routing changes. */
  readonly pipelines: Map<string, CandidateState>;
}

interface Entry {
  readonly run: Run;
  readonly state: CandidateState;
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
          state = this.newState(run, series, run.make(`${series.device}/${series.metric}`));
          run.pipelines.set(id, state);
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
    const activeOpened = active.lastEventChange?.type === 'open' ? 1 : 0;
    for (const { run, state } of entries) {
      // Event-time rule, as for the active side: a candidate restored from a checkpoint newer
      // than the active one's skips what it already scored (the spool replay).
      if (!(t > state.last)) continue;
      const c = state.tally;
      const before = process.hrtime.bigint();
      state.pipeline.process(t, value);
      c.candidateNs += Number(process.hrtime.bigint() - before);
      c.activeNs += activeNs;
      c.activeEvents += activeOpened;
      c.points++;
      c.firstTime ??= t;
      state.last = t;
      state.dirty = true;
      const change = state.pipeline.lastEventChange;
      if (change !== null) {
        if (change.type === 'open') c.candidateEvents++;
        this.emit(run, series, change);
      }
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

  private newState(run: Run, series: ShadowSeries, pipeline: SeriesPipeline): CandidateState {
    return {
      ckKey: shadowKey(run.spec.run, series.device, series.metric),
      pipeline,
      last: Number.NEGATIVE_INFINITY,
      series,
      tally: emptyTally(),
      dirty: true,
    };
  }

  /**
   * Counters of every run over the series this shard holds: what it scored since the run
   * started here, plus what restored checkpoints had counted.
   */
  counters(): ShadowCounters[] {
    return this.runs.map((run) => {
      const c = emptyCounters(run.spec.run);
      for (const { tally, last } of run.pipelines.values()) {
        c.points += tally.points;
        c.activeNs += tally.activeNs;
        c.candidateNs += tally.candidateNs;
        c.activeEvents += tally.activeEvents;
        c.candidateEvents += tally.candidateEvents;
        if (tally.firstTime !== null) {
          c.firstTime =
            c.firstTime === null ? tally.firstTime : Math.min(c.firstTime, tally.firstTime);
        }
        if (Number.isFinite(last) && (c.lastTime === null || last > c.lastTime)) c.lastTime = last;
      }
      c.series = run.pipelines.size;
      c.shadowed = [...run.pipelines.values()].map((s) => [s.series.device, s.series.metric]);
      return c;
    });
  }

  // ---- checkpoints (shadow-checkpoints.ts) ----

  /** Candidate state of a scoring run from its checkpoint; false when the run is not scoring. */
  restore(run: number, device: string, metric: string, checkpoint: Checkpoint): boolean {
    const into = this.runs.find((r) => r.spec.run === run);
    if (into === undefined) return false;
    const snapshot = checkpoint.snapshot as PipelineSnapshot & Partial<ShadowTag>;
    let pipeline: SeriesPipeline;
    try {
      pipeline = restorePipeline(into.spec.strategy, snapshot);
    } catch {
      return false; // not this candidate's state after all: the series starts afresh
    }
    const state = this.newState(into, { device, metric, tags: undefined }, pipeline);
    Object.assign(state.tally, tallyOf(snapshot.shadow?.tally));
    state.last = checkpoint.eventTime;
    state.dirty = false;
    into.pipelines.set(`${device}\u0000${metric}`, state);
    this.bySeries.clear();
    return true;
  }

  /** Snapshots of the candidate states changed since the last call. */
  snapshot(wallTime: number): Checkpoint[] {
    const checkpoints: Checkpoint[] = [];
    for (const run of this.runs) {
      snapshotDirty(run.pipelines.values(), wallTime, (s) => tagged(run, s), checkpoints);
    }
    return checkpoints;
  }

  /** Snapshots that could not be written: take them again next time. */
  markDirty(keys: ReadonlySet<string>): number {
    let marked = 0;
    for (const run of this.runs) marked += markDirty(run.pipelines.values(), keys);
    return marked;
  }
}

/** A candidate's snapshot tagged with its run, series and counters (shadow-checkpoints.ts). */
function tagged(run: Run, s: CandidateState): PipelineSnapshot {
  const { device, metric } = s.series;
  const shadow: ShadowTag['shadow'] = { run: run.spec.run, device, metric, tally: { ...s.tally } };
  return { ...s.pipeline.snapshot(), shadow } as PipelineSnapshot;
}
