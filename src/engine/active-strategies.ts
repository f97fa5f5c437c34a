/**
 * The active strategy set (routing order, and the default) and its record in the store's engine
 * state (`active-strategies`), saved at every swap so a restart with `resumeStrategies` makes
 * the same versions active again. Earlier versions kept it as a fake checkpoint
 * (`r:active-strategies`): found without the new record, it is moved there.
 */
import { parseStrategy } from '../core/strategy/parse.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Checkpoint, JsonValue, Store } from '../store/store.js';

/** The checkpoint key earlier versions kept the active set under. */
export const LEGACY_ACTIVE_KEY = 'r:active-strategies';
/** Engine-state key of the active set. */
export const ACTIVE_KEY = 'active-strategies';

// Type aliases, not interfaces: they are JsonValue as they are.
type Ref = { readonly name: string; readonly version: number };
type ActiveRecord = {
  readonly version: 1;
  readonly active: readonly Ref[];
  readonly fallback: Ref;
};

function isRef(value: unknown): value is Ref {
  const ref = value as Partial<Ref> | null;
  return typeof ref?.name === 'string' && typeof ref.version === 'number';
}

/** The record's parts that are well formed (anything else is ignored, as a fresh start). */
function activeRecord(value: unknown): { active: Ref[]; fallback: Ref | undefined } {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Partial<
    Record<keyof ActiveRecord, unknown>
  >;
  return {
    active: Array.isArray(record.active) ? record.active.filter(isRef) : [],
    fallback: isRef(record.fallback) ? record.fallback : undefined,
  };
}

export interface ActiveStrategiesOptions {
  readonly store: Store;
  /** Ordered: the first whose trigger_rules match a series scores it. */
  readonly strategies: readonly Strategy[];
  readonly fallback: Strategy;
  /** Make the saved set active again (a given strategy of a higher version wins). */
  readonly resume: boolean;
  /** Every checkpoint, to find the legacy record in. */
  readonly checkpoints: readonly Checkpoint[];
  readonly log: (message: string) => void;
}

export class ActiveStrategies {
  private constructor(
    private readonly store: Store,
    private current: readonly Strategy[],
    private currentFallback: Strategy,
  ) {}

  /** Load the set: move a legacy record, resume the saved set if asked, save it again. */
  static async open(options: ActiveStrategiesOptions): Promise<ActiveStrategies> {
    const { store, resume, log } = options;
    const self = new ActiveStrategies(store, [...options.strategies], options.fallback);
    let saved = await store.engineState.get(ACTIVE_KEY);
    const legacy = options.checkpoints.find((cp) => cp.key === LEGACY_ACTIVE_KEY);
    if (legacy !== undefined) {
      if (saved === undefined) {
        saved = legacy.snapshot as unknown as JsonValue;
        await store.engineState.put(ACTIVE_KEY, saved);
        log('the active strategy set moved from the checkpoints to the engine state');
      }
      await store.checkpoints.deletePrefix(LEGACY_ACTIVE_KEY);
    }
    if (resume) {
      if (saved !== undefined) await self.resume(activeRecord(saved), log);
      await self.save();
    }
    return self;
  }

  get strategies(): readonly Strategy[] {
    return this.current;
  }

  get fallback(): Strategy {
    return this.currentFallback;
  }

  /** The active strategy `name@version`, if loaded, for a checkpoint to restore. */
  loaded(name: string, version: number): Strategy | undefined {
    return [...this.current, this.currentFallback].find(
      (s) => s.name === name && s.version === version,
    );
  }

  set(strategies: readonly Strategy[], fallback: Strategy): void {
    this.current = [...strategies];
    this.currentFallback = fallback;
  }

  /** Persist the set, for `resumeStrategies`. */
  async save(): Promise<void> {
    const record: ActiveRecord = {
      version: 1,
      active: this.current.map((s) => ({ name: s.name, version: s.version })),
      fallback: { name: this.currentFallback.name, version: this.currentFallback.version },
    };
    await this.store.engineState.put(ACTIVE_KEY, record);
  }

  private async resume(
    record: ReturnType<typeof activeRecord>,
    log: (message: string) => void,
  ): Promise<void> {
    const pick = async (saved: Ref, given: Strategy | undefined) => {
      if (given !== undefined && given.version >= saved.version) return given;
      const stored = await this.store.strategies.get(saved.name, saved.version);
      if (stored === undefined) {
        log(`strategy ${saved.name}@${saved.version} was active but is not stored; not resumed`);
        return given;
      }
      try {
        const strategy = parseStrategy(stored.yaml, `${saved.name}@${saved.version} (stored)`);
        log(`strategy ${saved.name}@${saved.version} resumed (active when last stopped)`);
        return strategy;
      } catch (error) {
        log(`strategy ${saved.name}@${saved.version} cannot be resumed: ${String(error)}`);
        return given;
      }
    };
    if (record.fallback?.name === this.currentFallback.name) {
      this.currentFallback =
        (await pick(record.fallback, this.currentFallback)) ?? this.currentFallback;
    }
    const byName = new Map(this.current.map((s) => [s.name, s]));
    for (const saved of record.active) {
      const chosen = await pick(saved, byName.get(saved.name));
      if (chosen !== undefined) byName.set(saved.name, chosen);
    }
    // Routing order: by name, as hot reload keeps it.
    this.current = [...byName.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }
}
