/**
 * A shard's routing: the active strategies compiled once each (trigger rules, pipeline factory)
 * in order, the fallback that takes every series no rule claims, and the table of `name@version`
 * labels that results name strategies by. Labels only grow, so an index stays valid.
 */
import { compileStrategy, isVectorStrategy } from '../../core/strategy/compile.js';
import type { SeriesPipeline } from '../../core/strategy/pipeline.js';
import { compileTriggerRules, type SeriesIdentity } from '../../core/strategy/rules.js';
import type { Strategy } from '../../core/strategy/schema.js';
import type { ActiveRouting } from '../shadow/shadow-scorer.js';
import { labelOf } from './checkpoint-keys.js';

export interface Route {
  readonly strategy: Strategy;
  readonly label: string;
  /** Index into the label table (results name strategies by it). */
  readonly labelIndex: number;
  readonly vector: boolean;
  readonly test: (series: SeriesIdentity) => boolean;
  /** Univariate strategies: the compiled pipeline factory. */
  readonly make?: (key: string) => SeriesPipeline;
}

/** A fresh pipeline of a univariate route for a series. */
export const newPipeline = (route: Route, device: string, metric: string): SeriesPipeline =>
  (route.make as (key: string) => SeriesPipeline)(`${device}/${metric}`);

export class Routes {
  /** `name@version` by label index. */
  readonly labels: string[] = [];
  active: Route[];
  fallback: Route;

  constructor(strategies: readonly Strategy[], fallback: Strategy) {
    this.active = strategies.map((s) => this.compile(s));
    this.fallback = this.compile(fallback, true);
  }

  private compile(strategy: Strategy, all = false): Route {
    const vector = isVectorStrategy(strategy);
    const label = labelOf(strategy);
    let labelIndex = this.labels.indexOf(label);
    if (labelIndex < 0) labelIndex = this.labels.push(label) - 1;
    return {
      strategy,
      label,
      labelIndex,
      vector,
      test: all ? () => true : compileTriggerRules(strategy.trigger_rules),
      ...(vector ? {} : { make: compileStrategy(strategy) }),
    };
  }

  /** The first active route whose rules take the series, else the fallback. */
  of(identity: SeriesIdentity): Route {
    return this.active.find((r) => r.test(identity)) ?? this.fallback;
  }

  find(name: string, version: number): Route | undefined {
    return [...this.active, this.fallback].find(
      (r) => r.strategy.name === name && r.strategy.version === version,
    );
  }

  /** The rule test of a strategy, compiled once if it is active already. */
  testOf(strategy: Strategy): (series: SeriesIdentity) => boolean {
    const known = this.active.find((r) => r.label === labelOf(strategy));
    return known?.test ?? compileTriggerRules(strategy.trigger_rules);
  }

  /** What shadow runs judge their series against. */
  routing(): ActiveRouting {
    return {
      routes: this.active.map((r) => ({ name: r.strategy.name, test: r.test })),
      fallbackName: this.fallback.strategy.name,
    };
  }

  /**
   * Make these strategies active; returns the routes now active. Compiled routes of unchanged
   * versions are reused, so their identity (which device groups belong to them) holds.
   */
  replace(strategies: readonly Strategy[], fallback: Strategy): ReadonlySet<Route> {
    const old = [...this.active, this.fallback];
    const reuse = (s: Strategy, all = false): Route =>
      old.find((r) => r.label === labelOf(s) && (r === this.fallback) === all) ??
      this.compile(s, all);
    this.active = strategies.map((s) => reuse(s));
    this.fallback = reuse(fallback, true);
    return new Set([...this.active, this.fallback]);
  }
}
