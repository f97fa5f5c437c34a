/**
 * Unary `Detect` on a cluster (docs/cluster.md, "Detect"): the live state a point is scored
 * against lives in the scorer that leases its device's partition, so a node validates the batch
 * as the engine does, asks each partition's owner (a NATS request on the partition's detect
 * subject, answered by the scorer from its partition engine's `detect`) and puts the scores back
 * in the batch's order. Nothing is stored and no state changes, as in the single process.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Engine, IngestPoint, ScoredPoint } from '../engine/engine.js';
import { partitionOf } from '../engine/log/jetstream-log-codec.js';
import { pointErrorPath, validateBatch, type Limits, type ValidPoint } from '../engine/validate.js';
import { VigilError } from '../errors.js';

/** Core NATS subject (not in the stream) a partition's owner answers detect requests on. */
export const detectSubject = (stream: string, partition: number): string =>
  `vigil.detect.${stream}.${partition}`;

type Reply =
  | { readonly scores: ScoredPoint[][] }
  | { readonly error: { readonly code: string; readonly message: string } };

/**
 * The flat scores of `points` (one engine, so in the points' order) split per point: a point's
 * scores are those that follow with its device and time, one per metric.
 */
function perPoint(points: readonly ValidPoint[], flat: readonly ScoredPoint[]): ScoredPoint[][] {
  let at = 0;
  return points.map((p) => {
    const mine: ScoredPoint[] = [];
    const metrics = new Set<string>();
    for (; at < flat.length; at++) {
      const s = flat[at] as ScoredPoint;
      if (s.device_id !== p.device_id || s.timestamp !== p.timestamp || metrics.has(s.metric)) {
        break;
      }
      metrics.add(s.metric);
      mine.push(s);
    }
    return mine;
  });
}

/** Answer a partition's detect requests from its engine until the returned stop. */
export function serveDetect(
  nc: NatsConnection,
  subject: string,
  engine: Pick<Engine, 'detect'>,
): () => void {
  const sub: Subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) return;
      void (async () => {
        let reply: Reply;
        try {
          const points = msg.json<ValidPoint[]>();
          reply = { scores: perPoint(points, await engine.detect(points)) };
        } catch (err) {
          reply = {
            error: {
              code: err instanceof VigilError ? err.code : 'VIGIL_ERR_INTERNAL',
              message: err instanceof Error ? err.message : String(err),
            },
          };
        }
        msg.respond(JSON.stringify(reply));
      })();
    },
  });
  return () => sub.unsubscribe();
}

/** Score `points` against the owners' live state, in the batch's order. */
export async function relayDetect(
  nc: NatsConnection,
  stream: string,
  partitions: number,
  limits: Limits,
  points: readonly IngestPoint[],
): Promise<ScoredPoint[]> {
  const { valid, errors } = validateBatch(points, limits);
  const first = errors[0];
  if (first !== undefined) {
    throw new VigilError('VIGIL_ERR_INPUT', pointErrorPath(first.index, first.message));
  }
  const byPartition = new Map<number, { points: ValidPoint[]; at: number[] }>();
  valid.forEach((p, i) => {
    const partition = partitionOf(p.device_id, partitions);
    const part = byPartition.get(partition) ?? { points: [], at: [] };
    part.points.push(p);
    part.at.push(i);
    byPartition.set(partition, part);
  });
  const out = new Array<ScoredPoint[]>(valid.length);
  await Promise.all(
    [...byPartition].map(async ([partition, part]) => {
      let reply: Reply;
      try {
        const msg = await nc.request(
          detectSubject(stream, partition),
          JSON.stringify(part.points),
          { timeout: 5000 },
        );
        reply = msg.json<Reply>();
      } catch (error) {
        throw new VigilError(
          'VIGIL_ERR_NOT_READY',
          `Detect: partition ${partition} has no scorer answering now (${error instanceof Error ? error.message : String(error)}); retry`,
          { cause: error },
        );
      }
      if ('error' in reply) {
        throw new VigilError(reply.error.code as VigilError['code'], reply.error.message);
      }
      reply.scores.forEach((scores, k) => {
        out[part.at[k] as number] = scores;
      });
    }),
  );
  return out.flat();
}
