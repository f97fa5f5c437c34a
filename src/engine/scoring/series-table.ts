/**
 * The main thread's view of the series: which shard owns a device (a stable hash of its id),
 * and a dense id per (device, metric) within that shard. It turns durable batches of points into
 * one `ShardBatch` of typed arrays per shard. Lookups are a `Map` by device, then metric; nothing
 * is hashed per point (the shard hash is computed once per device).
 */
import type { ValidPoint } from '../validate.js';
import type { SeriesDef, ShardBatch } from './protocol.js';

/** FNV-1a over the UTF-16 code units: stable across runs and processes, cheap. */
export function shardOfDevice(device: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < device.length; i++) {
    h ^= device.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

interface DeviceEntry {
  readonly shard: number;
  readonly metrics: Map<string, number>;
}

/** Names of a shard's series by id (the feed names rows with them). */
export interface ShardNames {
  readonly device: string[];
  readonly metric: string[];
}

export class SeriesTable {
  private readonly devices = new Map<string, DeviceEntry>();
  /** Definitions not yet sent, per shard (they go with the shard's next batch). */
  private readonly pending: SeriesDef[][];
  readonly names: ShardNames[];

  constructor(readonly shards: number) {
    this.pending = Array.from({ length: shards }, () => []);
    this.names = Array.from({ length: shards }, () => ({ device: [], metric: [] }));
  }

  /** Series interned so far. */
  get size(): number {
    let n = 0;
    for (const names of this.names) n += names.device.length;
    return n;
  }

  /** Every series interned so far, as (device, metric). */
  *series(): Generator<readonly [device: string, metric: string]> {
    for (const names of this.names) {
      for (let i = 0; i < names.device.length; i++) {
        yield [names.device[i] as string, names.metric[i] as string];
      }
    }
  }

  shardOf(device: string): number {
    return this.entry(device).shard;
  }

  private entry(device: string): DeviceEntry {
    let entry = this.devices.get(device);
    if (entry === undefined) {
      entry = { shard: shardOfDevice(device, this.shards), metrics: new Map() };
      this.devices.set(device, entry);
    }
    return entry;
  }

  private add(
    entry: DeviceEntry,
    device: string,
    metric: string,
    tags: SeriesDef['tags'],
  ): SeriesDef {
    const names = this.names[entry.shard] as ShardNames;
    const def: SeriesDef = { id: names.device.length, device, metric, tags };
    names.device.push(device);
    names.metric.push(metric);
    entry.metrics.set(metric, def.id);
    return def;
  }

  /** Intern a series for a restored checkpoint; the caller sends the definition with it. */
  intern(device: string, metric: string): { shard: number; def: SeriesDef } | undefined {
    const entry = this.entry(device);
    if (entry.metrics.has(metric)) return undefined;
    return { shard: entry.shard, def: this.add(entry, device, metric, undefined) };
  }

  /** Rows of these batches, split by shard (undefined where a shard gets none), in order. */
  encode(batches: readonly (readonly ValidPoint[])[]): (ShardBatch | undefined)[] {
    let points = 0;
    for (const batch of batches) points += batch.length;
    const entries: DeviceEntry[] = new Array<DeviceEntry>(points);
    const names: string[][] = new Array<string[]>(points);
    const rows = new Int32Array(this.shards);
    let k = 0;
    for (const batch of batches) {
      for (const p of batch) {
        const entry = this.entry(p.device_id);
        const metrics = Object.keys(p.metrics);
        if (metrics.length > 1) metrics.sort();
        entries[k] = entry;
        names[k++] = metrics;
        rows[entry.shard] = (rows[entry.shard] as number) + metrics.length;
      }
    }
    const out: (ShardBatch | undefined)[] = [];
    const at = new Int32Array(this.shards);
    for (let s = 0; s < this.shards; s++) {
      const n = rows[s] as number;
      out.push(
        n === 0
          ? undefined
          : {
              defs: [],
              ids: new Int32Array(n),
              times: new Float64Array(n),
              values: new Float64Array(n),
              pointStart: new Uint8Array(n),
            },
      );
    }
    k = 0;
    for (const batch of batches) {
      for (const p of batch) {
        const entry = entries[k] as DeviceEntry;
        const metrics = names[k++] as string[];
        const s = entry.shard;
        const out_ = out[s] as ShardBatch;
        let r = at[s] as number;
        for (let j = 0; j < metrics.length; j++) {
          const metric = metrics[j] as string;
          let id = entry.metrics.get(metric);
          if (id === undefined) {
            const def = this.add(entry, p.device_id, metric, p.tags);
            (this.pending[s] as SeriesDef[]).push(def);
            id = def.id;
          }
          out_.ids[r] = id;
          out_.times[r] = p.timestamp;
          out_.values[r] = p.metrics[metric] as number;
          out_.pointStart[r] = j === 0 ? 1 : 0;
          r++;
        }
        at[s] = r;
      }
    }
    for (let s = 0; s < this.shards; s++) {
      const batch = out[s];
      const defs = this.pending[s] as SeriesDef[];
      if (batch === undefined || defs.length === 0) continue;
      out[s] = { ...batch, defs };
      this.pending[s] = [];
    }
    return out;
  }
}
