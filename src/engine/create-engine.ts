/**
 * The engine's composition root: `createEngine` opens the durable log and wires the owners that
 * make up an Engine (engine.ts) — admission, the log and its trimmer, scoring dispatch and the
 * shards, the feed, the event and store writers, the checkpointer, the active strategies. Each
 * owns its state; they talk through the callbacks given here. docs/engine.md.
 */
import { availableParallelism } from 'node:os';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { resolveStrategy } from '../strategy-files/load.js';
import type { Strategy } from '../core/strategy/schema.js';
import type { Store } from '../store/store.js';
import { ActiveStrategies, LEGACY_ACTIVE_KEY } from './active-strategies.js';
import { Admission } from './admission.js';
import { Checkpointer, LOG_CHECKPOINT_KEY } from './checkpointer.js';
import type { CloseOptions, Engine, IngestPoint, ScoredPoint } from './engine.js';
import { EventWriter } from './event-writer.js';
import { Feed } from './feed.js';
import type { LogEntry, OpenLog } from './log/durable-log.js';
import { LogTrimmer } from './log/log-trimmer.js';
import { SpoolLog } from './log/spool-log.js';
import { engineGauges, engineMetrics } from './metrics.js';
import { ResultRouter } from './results.js';
import { ScoringQueue } from './scoring/scoring-queue.js';
import { ShardPool } from './scoring/shard-pool.js';
import { encodedLoader } from './scoring/packed-checkpoints.js';
import { isShadowKey, shadowRestoreItems } from './shadow/shadow-checkpoints.js';
import { shadowControl } from './shadow/shadow-control.js';
import type { ShadowSpec } from './shadow/types.js';
import { revalidated, type SpooledBatch } from './spool-record.js';
import { StoreWriter } from './store-writer.js';
import { strategyRouting } from './strategy-routing.js';
import {
  DEFAULT_LIMITS,
  pointErrorPath,
  validateBatch,
  type Limits,
  type ValidPoint,
} from './validate.js';

export interface EngineOptions {
  readonly store: Store;
  /** Ordered: the first whose trigger_rules match a series scores it. */
  readonly strategies?: readonly Strategy[];
  /** Used when no strategy matches; default: the built-in `default`. */
  readonly defaultStrategy?: Strategy;
  /** Directory of the write-ahead spool, the default durable log (created if missing). */
  readonly spoolDir: string;
  /**
   * Opens the durable log instead of the spool in `spoolDir`: any implementation of
   * log/durable-log.ts that passes log/log-conformance.ts.
   */
  readonly openLog?: OpenLog<SpooledBatch>;
  /**
   * Make the strategies that were active when the engine last ran active again (as hot reload
   * or a rollback left them; they are saved at every swap), except where `strategies` or
   * `defaultStrategy` holds a higher version of the same name. `vigil serve` sets it.
   */
  readonly resumeStrategies?: boolean;
  /**
   * Worker threads that hold the series' detector state and score, each owning the devices whose
   * id hashes to it; 0 (the default here) scores on the main thread. docs/engine.md has the
   * measurements behind `vigil serve`'s default.
   */
  readonly workers?: number;
  /**
   * Most values (metrics of points) accepted and not yet stored and scored; beyond it ingest is
   * refused (BackpressureError). Default 1,000,000.
   */
  readonly queueLimit?: number;
  /** Most bytes of store rows (COPY text) accepted and not yet stored. Default 512 MiB. */
  readonly queueBytesLimit?: number;
  /**
   * Most live series per device and in total; a point that would create one beyond a cap is
   * refused (VIGIL_ERR_CARDINALITY), and replayed is stored but not scored. docs/engine.md
   * "Limits" has the sizing of the defaults (10,000 and 100,000).
   */
  readonly maxSeriesPerDevice?: number;
  readonly maxSeries?: number;
  /** Wall-clock period of checkpoints; 0 disables the timer (close still checkpoints). */
  readonly checkpointEveryMs?: number;
  /**
   * Series whose last point is this far (event time) behind the newest point of their shard are
   * dropped from memory at a checkpoint once their state is stored, and brought back from it on
   * their next point (docs/engine.md, "Idle series"). 0 or absent: never.
   */
  readonly idleEvictAfterMs?: number;
  /** Wall clock (ms), for checkpoint times and retry estimates. */
  readonly clock?: () => number;
  readonly limits?: Partial<Limits>;
  /** Most rows per store transaction. */
  readonly storeBatchRows?: number;
  /** Most `ok` scores per second published on the feed (flagged ones always are). */
  readonly scoreFeedPerSecond?: number;
  /** Where to report background problems (store retries, torn spool tails). */
  readonly log?: (message: string) => void;
  /**
   * Prometheus registry to register the engine's metrics on (docs/operations.md): ingest counts,
   * detection latency, event changes, store write latency and errors, and the gauges of queued
   * points, series, checkpoint age and log bytes. None when absent.
   */
  readonly registry?: Registry;
  /**
   * A scoring worker died (a bug: its state is gone). Default: throw it uncaught, so the process
   * exits and a restart recovers from the spool and checkpoints as after `kill -9`.
   */
  readonly onFatal?: (error: Error) => void;
  /** Shadow runs to score from the start, replayed points included (docs/shadow.md). */
  readonly shadows?: readonly ShadowSpec[];
  /**
   * Restore only the checkpoints of devices this returns true for (a scorer of a cluster owns
   * some partitions of the devices, docs/cluster.md); default: every checkpoint.
   */
  readonly ownsDevice?: (device: string) => boolean;
  /**
   * The log's `onDurable` brings batches other processes appended (a cluster's partition): they
   * are admitted as replayed ones (counted as queued, within the cardinality caps).
   */
  readonly foreignAppends?: boolean;
  /** Engine-state key of the log position checkpoints cover; default `log-checkpoint`. */
  readonly logCheckpointKey?: string;
  /**
   * Restore series states lazily, each on its series' next point, when more than this many
   * checkpoints have a head (docs/engine.md, "Lazy restore"); fewer are restored before ready.
   * Default 10,000.
   */
  readonly lazyRestoreAbove?: number;
}

/**
 * The default number of scoring workers of `vigil serve`: none on one core; one on two (measured
 * on this 2-core machine, docs/engine.md "Workers"); else one per core beyond the two left to
 * the main thread and the database, at most 4 (not measured: no such machine here).
 */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores <= 1 ? 0 : Math.min(4, Math.max(1, cores - 2));
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { store } = options;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => undefined);
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const workers = Math.max(0, Math.floor(options.workers ?? 0));
  const metrics = options.registry === undefined ? undefined : engineMetrics(options.registry);
  const onFatal =
    options.onFatal ??
    ((error: Error) => {
      process.nextTick(() => {
        throw error;
      });
    });

  // Series states with a head are restored lazily (on their next point); the rest whole, now.
  // A cluster scorer restores only its devices' states.
  const ownsDevice = options.ownsDevice;
  const owned = (device: string | undefined) =>
    ownsDevice === undefined || device === undefined || ownsDevice(device);
  const start = (await store.checkpoints.getForStart?.()) ?? {
    heads: [],
    whole: await store.checkpoints.getAll(),
  };
  // (A shadow candidate's checkpoint names its device in its shadow tag.)
  let checkpoints = start.whole.filter((cp) => {
    const snapshot = cp.snapshot as { engine?: { device?: string }; shadow?: { device?: string } };
    return owned(snapshot.engine?.device ?? snapshot.shadow?.device);
  });
  let heads = start.heads.filter((h) => owned(h.head.device));
  if (heads.length > 0 && heads.length <= (options.lazyRestoreAbove ?? 10_000)) {
    checkpoints = [...checkpoints, ...(await store.checkpoints.get(heads.map((h) => h.key)))];
    heads = [];
  }
  const active = await ActiveStrategies.open({
    store,
    strategies: options.strategies ?? [],
    fallback: options.defaultStrategy ?? (await resolveStrategy('default')),
    resume: options.resumeStrategies === true,
    checkpoints,
    log,
  });

  const events = new EventWriter(store, log);
  const feed = new Feed(options.scoreFeedPerSecond ?? 1000, clock, log);
  let closing = false;
  const shadows = shadowControl(
    options.shadows ?? [],
    () => pool.shards,
    (e) => events.add(e.stored),
  );
  const pool = new ShardPool({
    workers,
    strategies: active.strategies,
    fallback: active.fallback,
    shadows: shadows.runs(),
    // Shards answer only batches given through `queue`, so both exist by then.
    onResult: (shard, result) => {
      results.route(shard, result);
      queue.answered(shard);
    },
    onFailure: (shard, error) => {
      log(`scoring worker ${shard} failed: ${error.message}`);
      if (!closing) onFatal(error);
    },
  });
  const queue = new ScoringQueue(pool.table, (shard, batch) => pool.score(shard, batch), metrics, {
    ids: pool.evicted,
    revive: (shard, ids) => pool.revive(shard, ids, encodedLoader(store.checkpoints), log),
  });
  const results = new ResultRouter(pool.table, feed, events, metrics);

  await pool.restore(
    checkpoints.filter((cp) => cp.key !== LEGACY_ACTIVE_KEY && !isShadowKey(cp.key)),
    (name, version) => active.loaded(name, version),
    log,
  );
  pool.restoreLazily(heads, (name, version) => active.loaded(name, version), log);
  await pool.sendRestore(
    shadowRestoreItems(
      checkpoints.filter((cp) => isShadowKey(cp.key)),
      shadows.runs(),
      pool.shards.length,
      (device) => pool.table.shardOf(device),
      log,
    ),
  );

  // The store writer, the log, its trimmer and admission call each other through callbacks
  // that run only once batches flow, after all four exist.
  const writer = new StoreWriter({
    store,
    batchRows: options.storeBatchRows ?? 50_000,
    clock,
    metrics,
    log,
    onCommitted: async (chunks) => {
      let points = 0;
      let values = 0;
      let bytes = 0;
      for (const chunk of chunks) {
        points += chunk.points;
        values += chunk.rows.rows;
        bytes += chunk.rows.text.length;
      }
      admission.stored(points, values, bytes);
      await events.flush();
      await trimmer.sweep();
    },
  });
  /** `scored`: the points of a replayed batch within the cardinality caps (default: all). */
  const durable = (entries: readonly LogEntry<SpooledBatch>[], scored?: ValidPoint[]): void => {
    const epoch = trimmer.epoch;
    queue.push(scored === undefined ? entries.map((e) => e.batch.points) : [scored]);
    writer.push(
      entries.map(({ batch }) => ({
        segment: epoch,
        points: batch.points.length,
        rows: batch.rows,
      })),
    );
  };
  const openLog = options.openLog ?? ((d) => SpoolLog.open(options.spoolDir, d, log));
  const durableLog = await openLog(
    options.foreignAppends === true
      ? (entries) => {
          for (const e of entries) durable([e], admission.replayed(e.batch));
        }
      : durable,
  );
  const trimmer = new LogTrimmer(durableLog, writer);
  const admission = new Admission({
    limits,
    queueLimit: options.queueLimit ?? 1_000_000,
    queueBytesLimit: options.queueBytesLimit ?? 512 * 1024 * 1024,
    caps: {
      perDevice: options.maxSeriesPerDevice ?? 10_000,
      total: options.maxSeries ?? 100_000,
    },
    series: pool.table.series(),
    metrics,
    unscored: () => queue.unscored,
    storeRate: () => writer.rate,
    append: (batch) => durableLog.append(batch),
  });

  // Replay: the store dedups points already committed; scoring skips what checkpoints cover.
  const logCheckpointKey = options.logCheckpointKey ?? LOG_CHECKPOINT_KEY;
  const covered = await store.engineState.get(logCheckpointKey);
  // Points today's validation refuses (spooled by an older version) are dropped, not fed back:
  // the store would refuse them again and hold up everything after them.
  let replayed = 0;
  let dropped = 0;
  for await (const entry of durableLog.read()) {
    const { batch, refused } = revalidated(entry.batch, limits);
    for (const e of refused) {
      log(`log entry ${entry.position}: dropping point ${e.index} on replay: ${e.message}`);
    }
    dropped += refused.length;
    replayed++;
    if (batch === undefined) continue;
    durable([{ position: entry.position, batch }], admission.replayed(batch));
  }
  if (replayed > 0) {
    log(
      `replaying ${replayed} batches from the log` +
        (dropped > 0 ? ` (${dropped} points dropped: refused by validation)` : '') +
        `; checkpoints cover it through ${JSON.stringify(covered ?? null)}`,
    );
  }

  const checkpointer = new Checkpointer({
    store,
    pool,
    queue,
    events,
    trimmer,
    clock,
    evictIdleMs: options.idleEvictAfterMs ?? 0,
    logCheckpointKey,
  });
  checkpointer.every(options.checkpointEveryMs ?? 30_000, log);
  await trimmer.sweep();

  const flush = async (): Promise<void> => {
    for (;;) {
      await queue.drainAll();
      await queue.idle();
      if (writer.idle) break;
      await writer.round();
    }
    await events.flush();
  };
  const queued = (): number => admission.queued();
  if (options.registry !== undefined) {
    engineGauges(options.registry, {
      queued,
      queuedBytes: () => admission.queuedBytes(),
      series: () => pool.table.size,
      lastCheckpointWallMs: () => checkpointer.stats().lastCheckpointWallMs,
      logBytes: () => durableLog.size().bytes,
    });
  }

  let closed: Promise<void> | undefined;
  return {
    routing: strategyRouting(active, pool, (e) => results.event(e), log),
    shadows,
    ingest: (points: readonly IngestPoint[], source: string, onQueued?: () => void) =>
      admission.ingest(points, source, onQueued),
    detect: async (points: readonly IngestPoint[]): Promise<ScoredPoint[]> => {
      const { valid, errors } = validateBatch(points, limits);
      const first = errors[0];
      if (first !== undefined) {
        throw new VigilError('VIGIL_ERR_INPUT', pointErrorPath(first.index, first.message));
      }
      return pool.detect(valid);
    },
    subscribe: (listener) => feed.subscribe(listener),
    checkpoint: () => checkpointer.checkpoint(),
    flush,
    stats: () => ({
      ...admission.stats(),
      ...results.stats(),
      ...checkpointer.stats(),
      queued: queued(),
      series: pool.table.size,
      evictedSeries: pool.evictedCount,
      log: durableLog.size(),
      workers,
    }),
    close: (closeOptions?: CloseOptions) =>
      (closed ??= (async () => {
        closing = true;
        admission.close();
        checkpointer.stop();
        try {
          // Appends already handed to the log finish (sync waits for them), then drain.
          await trimmer.sync();
          const drained = await settledBy(flush(), closeOptions?.deadline);
          if (drained) {
            await checkpointer.checkpoint();
          } else {
            // The store did not take the rows in time: they stay in the log, and the last
            // checkpoint with them, so the next start stores and scores them again.
            writer.stop();
            log(
              `store unreachable at shutdown: ${admission.queued()} values not stored stay in the log, replayed on the next start`,
            );
          }
          await durableLog.close();
        } finally {
          await pool.close();
        }
      })()),
  };
}

/**
 * Whether `work` settled by `deadline` (`performance.now()` time; none: wait for it). Its
 * rejection is thrown; past the deadline it is left running and its outcome ignored.
 */
async function settledBy(work: Promise<void>, deadline: number | undefined): Promise<boolean> {
  if (deadline === undefined) {
    await work;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  work.catch(() => undefined); // past the deadline nobody awaits it
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
