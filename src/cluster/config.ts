/**
 * The `cluster` section of `vigil serve`'s config file and the role flags (docs/cluster.md):
 * which role this process plays and where the NATS JetStream server, stream and lease bucket
 * are. `all` (the default) is the single process on its local spool, and ignores the rest.
 */
import { z } from 'zod';

export const roles = ['all', 'ingest', 'scorer'] as const;
export type Role = (typeof roles)[number];

const name = z.string().regex(/^[-_a-zA-Z0-9]+$/, 'letters, digits, - and _ only');

export const clusterSchema = z
  .object({
    role: z.enum(roles),
    /** NATS server URL(s), comma-separated. */
    nats: z.string().min(1),
    /** The JetStream stream of points (created with `partitions` if missing). */
    stream: name,
    /** Partitions of the stream, fixed when it is created. */
    partitions: z.number().int().min(1).max(4096),
    /** The KV bucket of scorer leases. */
    lease_bucket: name,
    /** Lease time-to-live: a stopped scorer's partitions move this long after its last heartbeat. */
    lease_ttl_ms: z.number().int().min(1000).max(600_000),
    /** NATS subject of live event changes. */
    events_subject: z.string().regex(/^[-_a-zA-Z0-9.]+$/),
  })
  .partial()
  .strict();

export type ClusterConfig = z.infer<typeof clusterSchema>;

/** Everything a cluster node needs, defaults applied. */
export interface ClusterSettings {
  readonly role: Role;
  readonly nats: string | undefined;
  readonly stream: string;
  readonly partitions: number;
  readonly leaseBucket: string;
  readonly leaseTtlMs: number;
  readonly eventsSubject: string;
  /** The KV bucket of announced strategy versions (no TTL). */
  readonly strategyBucket: string;
}

export function clusterSettings(
  config: ClusterConfig,
  role: Role,
  nats: string | undefined,
): ClusterSettings {
  const stream = config.stream ?? 'VIGIL_POINTS';
  return {
    role,
    nats,
    stream,
    partitions: config.partitions ?? 64,
    leaseBucket: config.lease_bucket ?? `${stream}_LEASES`,
    leaseTtlMs: config.lease_ttl_ms ?? 10_000,
    eventsSubject: config.events_subject ?? `vigil.events.${stream}`,
    strategyBucket: `${stream}_STRATEGIES`,
  };
}
