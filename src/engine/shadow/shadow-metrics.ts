/**
 * Prometheus metrics of shadow runs (docs/operations.md, docs/shadow.md). Counters live in the
 * scoring shards, so the families are filled at scrape time from one sample of the running runs'
 * counters (one request to the shards per scrape, not one per family); ended runs drop out.
 * Values are the run's totals (restarts included), the same numbers `GET /v1/shadows/:id` shows.
 */
import type { Registry } from 'prom-client';
import { counter, gauge } from '../../metrics/registry.js';
import type { ShadowCounters } from './types.js';

/** A running run's counters, labelled with its candidate (`name@version`). */
export interface ShadowSample {
  readonly run: number;
  readonly strategy: string;
  readonly counters: ShadowCounters;
}

/** A sample younger than this is reused by the other families' collects of the same scrape. */
const SAMPLE_REUSE_MS = 1000;

export function registerShadowMetrics(
  registry: Registry,
  sample: () => Promise<readonly ShadowSample[]>,
): void {
  let last: { at: number; samples: Promise<readonly ShadowSample[]> } | undefined;
  const refresh = (): Promise<readonly ShadowSample[]> => {
    last = { at: Date.now(), samples: sample().catch(() => []) };
    return last.samples;
  };
  // A scrape starts every family's collect in registration order: the first one samples anew.
  const read = (): Promise<readonly ShadowSample[]> =>
    last !== undefined && Date.now() - last.at <= SAMPLE_REUSE_MS ? last.samples : refresh();
  const byRun = (s: ShadowSample) => ({ run: String(s.run), strategy: s.strategy });

  counter<'run' | 'strategy'>(registry, {
    name: 'vigil_shadow_points_total',
    help: 'Points scored by the candidate of a running shadow run (and by the active strategy)',
    labelNames: ['run', 'strategy'],
    async collect() {
      const samples = await refresh();
      this.reset();
      for (const s of samples) this.inc(byRun(s), s.counters.points);
    },
  });
  counter<'run' | 'strategy' | 'side'>(registry, {
    name: 'vigil_shadow_events_total',
    help: 'Events opened on the series a shadow run shadows, by side (active, candidate)',
    labelNames: ['run', 'strategy', 'side'],
    async collect() {
      const samples = await read();
      this.reset();
      for (const s of samples) {
        this.inc({ ...byRun(s), side: 'active' }, s.counters.activeEvents);
        this.inc({ ...byRun(s), side: 'candidate' }, s.counters.candidateEvents);
      }
    },
  });
  gauge<'run' | 'strategy' | 'side'>(registry, {
    name: 'vigil_shadow_scoring_seconds_per_point',
    help: "Mean time in a side's pipeline per point scored on a shadow run's series",
    labelNames: ['run', 'strategy', 'side'],
    async collect() {
      const samples = await read();
      this.reset();
      for (const s of samples) {
        const { points, activeNs, candidateNs } = s.counters;
        if (points === 0) continue;
        this.set({ ...byRun(s), side: 'active' }, activeNs / points / 1e9);
        this.set({ ...byRun(s), side: 'candidate' }, candidateNs / points / 1e9);
      }
    },
  });
}
