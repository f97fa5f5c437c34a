/**
 * The durable log: where accepted batches become durable before they are acknowledged, and
 * where a restart finds what the store and the checkpoints may not cover yet. Implementations:
 * the local fsynced spool (spool-log.ts); a JetStream stream is meant to be the next. Every
 * implementation passes log-conformance.ts. docs/engine.md, "The durable log".
 *
 * Contract:
 * - Order. `append` fixes the batch's place in the log synchronously, before it returns: batches
 *   appended one after another (even without waiting) keep that order in the log, in `onDurable`
 *   and in `read`. So a caller may hand over its next batch while the previous one waits.
 * - Durability. `append` resolves with the batch's position only once it is durable: a crash
 *   (or `close` and opening again) after that keeps it. It rejects when the write failed: the
 *   batch was not acknowledged, and a torn tail of it is dropped when the log is opened again.
 * - `onDurable` (given when the log is opened) sees every appended batch once, in log order, as
 *   soon as it is durable and before its `append` resolves. Entries read back on open are not
 *   passed to it: the owner asks for them with `read`.
 * - Positions are opaque strings that sort in log order (plain `<` on strings): every position
 *   is after `LOG_START`, and each entry's is after every earlier one's. They can be stored (e.g.
 *   with a checkpoint) and handed back to `read` and `trim` of the same log after a restart.
 * - `read(after)` yields every stored entry whose position is after `after` (default
 *   `LOG_START`: everything not trimmed), in order, each once. Entries whose append resolved
 *   before the call are included; ones appended meanwhile may or may not be.
 * - `sync()` waits for every append made before the call to be durable and resolves with a
 *   position at or after all of them; entries appended after it resolves come after it. An
 *   implementation may start a new storage unit there, so that what is before can be trimmed.
 * - `trim(through)` removes entries up to `through` (inclusive) that are durable. It may keep
 *   more (implementations trim whole units: segments, blocks), but through a position `sync`
 *   returned it removes everything up to it. It never removes an entry after `through`, nor
 *   one whose append has not resolved. Trimmed entries are gone for `read` and `size`.
 * - `size()` counts what is stored now: it grows with appends and shrinks with trims.
 * - `close()` waits for the appends made before it, then releases the log; no call after it.
 *
 * Thread safety: one owner, one event loop; calls may overlap (appends during a sync or trim).
 */

/** A place in a log; compare with `<` (see the contract above). */
export type LogPosition = string;

/** Before every entry: `read(LOG_START)` reads everything not trimmed. */
export const LOG_START: LogPosition = '';

export interface LogEntry<T> {
  readonly position: LogPosition;
  readonly batch: T;
}

/** Called with each group of batches once durable, in log order, before their appends resolve. */
export type OnDurable<T> = (entries: readonly LogEntry<T>[]) => void;

export interface LogSize {
  /** Bytes of stored entries (and framing). */
  readonly bytes: number;
  /** Entries stored (appended or found on open, and not trimmed). */
  readonly entries: number;
}

export interface DurableLog<T> {
  append(batch: T): Promise<LogPosition>;
  read(after?: LogPosition): AsyncIterable<LogEntry<T>>;
  sync(): Promise<LogPosition>;
  trim(through: LogPosition): Promise<void>;
  size(): LogSize;
  close(): Promise<void>;
}

/** Opens (or reopens) one log, over the same storage each time. */
export type OpenLog<T> = (onDurable: OnDurable<T>) => Promise<DurableLog<T>>;
