/**
 * Partition leases in a JetStream KV bucket (docs/cluster.md, "Leases"). Every scorer writes
 * `members.<id>` each heartbeat; the bucket's TTL removes the key of a scorer that stopped
 * (killed, cut off). The live members decide who should own each partition (assignment.ts); a
 * scorer takes `lease.<p>` with a create (only when nobody holds it), renews it each heartbeat
 * with an update at the revision it last wrote (so a lease that expired and was taken by another
 * is noticed), and gives a partition up by stopping it first, then deleting the lease: the next
 * owner starts only after the last one checkpointed. A killed scorer's leases expire after the TTL.
 */
import type { KV } from '@nats-io/kv';
import { assignPartitions } from './assignment.js';

export interface LeaseKeeperOptions {
  readonly kv: KV;
  /** This scorer's id: `[-_a-zA-Z0-9]+`, unique among the live ones. */
  readonly member: string;
  readonly partitions: number;
  /** The bucket's TTL; heartbeats every third of it. */
  readonly ttlMs: number;
  /** Start scoring a partition just leased; rejecting gives the lease up again. */
  readonly start: (partition: number) => Promise<void>;
  /** Stop scoring a partition (drain and checkpoint) before its lease goes. */
  readonly stop: (partition: number) => Promise<void>;
  readonly log: (message: string) => void;
  /** Leases lost and partitions that failed to start or stop (default: `log`). */
  readonly warn?: (message: string) => void;
  readonly clock?: () => number;
}

interface Held {
  revision: number;
  renewed: number;
  state: 'starting' | 'running' | 'stopping';
}

const leaseKey = (p: number): string => `lease.${p}`;

/**
 * `work`, or a rejection after `ms`: a request caught in a reconnect must not hold the
 * heartbeat up (a lease is judged lost by time since its last renewal instead).
 */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
const memberKey = (m: string): string => `members.${m}`;

export class LeaseKeeper {
  private readonly leases = new Map<number, Held>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly clock: () => number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Heartbeat now, then every third of the TTL. */
  async begin(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, this.options.ttlMs / 3));
  }

  /** Partitions leased and scoring. */
  running(): number[] {
    return [...this.leases.entries()]
      .filter(([, h]) => h.state === 'running')
      .map(([p]) => p)
      .sort((a, b) => a - b);
  }

  /** Every lease held, whatever its partition is doing. */
  holding(): { readonly partition: number; readonly state: string }[] {
    return [...this.leases.entries()]
      .map(([partition, h]) => ({ partition, state: h.state }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** One heartbeat at a time. */
  tick(): Promise<void> {
    const run = this.ticking.then(() => this.beat());
    this.ticking = run.catch((error: unknown) =>
      this.options.log(`lease heartbeat failed: ${String(error)}`),
    );
    return this.ticking;
  }

  private async beat(): Promise<void> {
    if (this.closing) return;
    const { kv, member, partitions, log } = this.options;
    const limit = this.options.ttlMs / 2;
    await within(kv.put(memberKey(member), String(this.clock())), limit, 'membership heartbeat');
    await this.renew();
    const members = await within(
      (async () => {
        const found: string[] = [];
        for await (const key of await kv.keys('members.*')) {
          found.push(key.slice('members.'.length));
        }
        return found;
      })(),
      limit,
      'listing the members',
    );
    const mine = new Set(assignPartitions(members, partitions).get(member) ?? []);
    for (const [p, h] of this.leases) {
      if (!mine.has(p) && h.state === 'running') this.release(p, h, 'moved to another scorer');
    }
    for (const p of mine) {
      if (this.closing || this.leases.has(p)) continue;
      let revision: number;
      try {
        revision = await within(kv.create(leaseKey(p), member), limit, 'taking a lease');
      } catch {
        continue; // still held by its last owner: it gives it up, or its lease expires
      }
      const held: Held = { revision, renewed: this.clock(), state: 'starting' };
      this.leases.set(p, held);
      log(`partition ${p}: leased`);
      this.options.start(p).then(
        () => {
          if (held.state === 'starting') held.state = 'running';
        },
        (error: unknown) => {
          log(`partition ${p}: could not start: ${String(error)}`);
          this.release(p, held, 'start failed');
        },
      );
    }
  }

  /** Renew every lease held; one lost (taken by another, or not renewed within the TTL) stops. */
  private async renew(): Promise<void> {
    const { kv, member, ttlMs } = this.options;
    const log = this.options.warn ?? this.options.log;
    // All at once: while the server is away each waits for its timeout.
    await Promise.all(
      [...this.leases.entries()].map(async ([p, h]) => {
        try {
          h.revision = await within(
            kv.update(leaseKey(p), member, h.revision),
            ttlMs / 2,
            'renewing a lease',
          );
          h.renewed = this.clock();
        } catch (error) {
          const taken = /wrong last sequence/i.test(String(error));
          if (this.leases.get(p) !== h || !(taken || this.clock() - h.renewed > ttlMs)) return;
          log(`partition ${p}: lease lost (${String(error)}); stopping it`);
          this.leases.delete(p);
          if (h.state !== 'stopping') {
            h.state = 'stopping';
            void this.options.stop(p).catch((e: unknown) => log(`partition ${p}: ${String(e)}`));
          }
        }
      }),
    );
  }

  /** Stop the partition, then delete its lease (at the revision last written). */
  private release(p: number, h: Held, why: string): Promise<void> {
    const { kv, log } = this.options;
    h.state = 'stopping';
    log(`partition ${p}: releasing (${why})`);
    return this.options
      .stop(p)
      .catch((error: unknown) => log(`partition ${p}: stop failed: ${String(error)}`))
      .then(async () => {
        if (this.leases.get(p) !== h) return; // lost meanwhile
        this.leases.delete(p);
        await kv.delete(leaseKey(p), { previousSeq: h.revision }).catch(() => undefined);
      });
  }

  /**
   * Stop heartbeats and acquisitions, stop every partition held, give the leases and the
   * membership up so the others take over at once.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.ticking;
    // Keep the leases alive while the partitions drain.
    const keepAlive = setInterval(() => void this.renew(), Math.max(100, this.options.ttlMs / 3));
    try {
      await Promise.all([...this.leases.entries()].map(([p, h]) => this.release(p, h, 'closing')));
    } finally {
      clearInterval(keepAlive);
    }
    await this.options.kv.delete(memberKey(this.options.member)).catch(() => undefined);
  }
}
