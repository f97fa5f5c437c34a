/**
 * A shard's checkpoints on their way to the main thread: each state encoded where it lives
 * (state-codec.ts, in the scoring worker when there is one) and packed into a few large buffers,
 * so the reply is a handful of transferred buffers and a key list, not a million small objects
 * for the main thread to clone.
 */
import type { Checkpoint, CheckpointStore, EncodedCheckpoint } from '../../store/store.js';
import { encodeState } from '../../store/state-codec.js';

/** Bytes per packed buffer: large enough for few messages, small enough to allocate anywhere. */
const PACK_BYTES = 32 << 20;

/** Checkpoints of one shard, states back to back in `bytes`. */
export interface CheckpointPack {
  readonly keys: string[];
  readonly eventTimes: number[];
  /** End offset of each state in `bytes` (its start is the previous end, or 0). */
  readonly ends: number[];
  readonly bytes: Uint8Array;
  readonly wallTime: number;
}

/** Collects encoded checkpoints into packs; `push` is what `snapshotDirty` appends with. */
export class CheckpointPacker {
  readonly packs: CheckpointPack[] = [];
  private states: Uint8Array[] = [];
  private keys: string[] = [];
  private eventTimes: number[] = [];
  private size = 0;

  constructor(private readonly wallTime: number) {}

  push(cp: Checkpoint): void {
    const state = encodeState(cp.snapshot);
    this.states.push(state);
    this.keys.push(cp.key);
    this.eventTimes.push(cp.eventTime);
    this.size += state.length;
    if (this.size >= PACK_BYTES) this.seal();
  }

  /** The packs, the last one sealed. */
  finish(): CheckpointPack[] {
    this.seal();
    return this.packs;
  }

  private seal(): void {
    if (this.keys.length === 0) return;
    const bytes = new Uint8Array(this.size);
    const ends: number[] = [];
    let at = 0;
    for (const state of this.states) {
      bytes.set(state, at);
      at += state.length;
      ends.push(at);
    }
    this.packs.push({
      keys: this.keys,
      eventTimes: this.eventTimes,
      ends,
      bytes,
      wallTime: this.wallTime,
    });
    this.states = [];
    this.keys = [];
    this.eventTimes = [];
    this.size = 0;
  }
}

/** Checkpoints `from` to `to` (exclusive) of a pack; the states are views into its buffer. */
export function unpack(pack: CheckpointPack, from: number, to: number): EncodedCheckpoint[] {
  const out: EncodedCheckpoint[] = [];
  for (let i = from; i < Math.min(to, pack.keys.length); i++) {
    const start = i === 0 ? 0 : (pack.ends[i - 1] as number);
    out.push({
      key: pack.keys[i] as string,
      state: pack.bytes.subarray(start, pack.ends[i] as number),
      eventTime: pack.eventTimes[i] as number,
      wallTime: pack.wallTime,
    });
  }
  return out;
}

/** The buffers of packs, for `postMessage` transfer lists. */
export const packBuffers = (packs: readonly CheckpointPack[]): ArrayBuffer[] =>
  packs.map((p) => p.bytes.buffer as ArrayBuffer);

/** How revived series read their states: encoded as stored, where the store can. */
export function encodedLoader(
  store: CheckpointStore,
): (keys: readonly string[]) => Promise<readonly EncodedCheckpoint[]> {
  const getEncoded = store.getEncoded?.bind(store);
  if (getEncoded !== undefined) return getEncoded;
  return async (keys) =>
    (await store.get(keys)).map((cp) => ({
      key: cp.key,
      state: encodeState(cp.snapshot),
      eventTime: cp.eventTime,
      wallTime: cp.wallTime,
    }));
}
