/**
 * `POST /api/v1/write`: Prometheus remote-write v1 into the engine. Answers follow the spec so
 * that Prometheus retries exactly what can succeed later (docs/integrations-prometheus.md): 204,
 * 400 (never retried; the accepted part is durable), 413, 415, and 503 with Retry-After on
 * backpressure and over a rate limit: not 429, which Prometheus drops unless `retry_on_http_429`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { RateLimitedError, takePoints } from '../../auth/rate-limit.js';
import { quoteInput } from '../../data/quote.js';
import { counter } from '../../metrics/registry.js';
import { BackpressureError, type Engine } from '../../engine/engine.js';
import { errorCodes, VigilError, type ErrorCode } from '../../errors.js';
import { commonIngestAnswers, described, noContent } from '../http/answers.js';
import {
  decodeWriteRequest,
  decompress,
  defaultDecodeLimits,
  type FullDecodeLimits,
} from './decode.js';
import {
  defaultLabelMapping,
  describeErrors,
  mapWriteRequest,
  type LabelMapping,
} from './mapping.js';
import { metadataUnits } from './metadata-units.js';
import { InferredUnitRecorder } from '../../server/unit-recorder.js';
import type { MetricUnitStore } from '../../store/store.js';

/** The decoding limits (decode.ts), and the body as sent. */
export interface RemoteWriteLimits extends FullDecodeLimits {
  /** Largest request body as sent (snappy-compressed), bytes. */
  readonly maxCompressedBytes: number;
}

export const defaultRemoteWriteLimits: RemoteWriteLimits = {
  ...defaultDecodeLimits,
  maxCompressedBytes: 8 * 1024 * 1024,
};

export interface RemoteWriteOptions {
  readonly engine: Pick<Engine, 'ingest'>;
  readonly registry: Registry;
  readonly mapping?: Partial<LabelMapping>;
  readonly limits?: Partial<RemoteWriteLimits>;
  /** Where metadata units go (metadata-units.ts); none: metadata is ignored. */
  readonly units?: Pick<MetricUnitStore, 'setInferred'>;
}

export const REMOTE_WRITE_PATH = '/api/v1/write';
const SOURCE = 'remote_write';

function send(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  status = errorCodes[code].httpStatus,
): FastifyReply {
  return reply.code(status).send({ code, message });
}

/** Content-Type `application/x-protobuf` (optionally `;proto=prometheus.WriteRequest`). */
function checkHeaders(request: FastifyRequest): void {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  const [mediaType, ...params] = type.split(';').map((s) => s.trim());
  const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
  if (mediaType !== 'application/x-protobuf' || (proto && proto !== 'prometheus.writerequest')) {
    throw new VigilError(
      'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${quoteInput(type)}: expected application/x-protobuf (remote-write v1, prometheus.WriteRequest)`,
    );
  }
  const encoding = (request.headers['content-encoding'] ?? '').toString().toLowerCase();
  if (encoding !== 'snappy') {
    throw new VigilError(
      'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${quoteInput(encoding)}: expected snappy`,
    );
  }
}

/** Register the route in its own scope: its body parser and error answers are its own. */
export async function registerRemoteWriteRoutes(
  app: FastifyInstance,
  options: RemoteWriteOptions,
): Promise<void> {
  const { engine } = options;
  const mapping: LabelMapping = { ...defaultLabelMapping, ...options.mapping };
  const limits: RemoteWriteLimits = { ...defaultRemoteWriteLimits, ...options.limits };
  // Family names are metric names only when the metric comes from __name__.
  const units =
    options.units !== undefined && mapping.metricLabel === '__name__'
      ? new InferredUnitRecorder(options.units)
      : undefined;
  const samples = counter(
    options.registry,
    'vigil_remote_write_samples_total',
    'Prometheus remote-write samples received, by result (accepted, rejected, stale, non_finite, duplicate, backpressure)',
    ['result'],
  );
  for (const result of ['accepted', 'rejected', 'stale', 'non_finite'] as const) {
    samples.inc({ result }, 0);
  }

  await app.register(async (scope) => {
    // Only raw bytes here; the content type is checked in the handler with a clear message.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );

    scope.setErrorHandler((err: unknown, request, reply) => {
      if (err instanceof BackpressureError) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
        // 503, not 429: see the module comment.
        return send(reply, 'VIGIL_ERR_BACKPRESSURE', err.message, 503);
      }
      if (err instanceof RateLimitedError) {
        reply.header('retry-after', String(err.retryAfterS));
        // 503 as for backpressure, so Prometheus retries after Retry-After (module comment).
        return send(reply, err.code, err.message, 503);
      }
      if (err instanceof VigilError) {
        return send(reply, err.code, err.message);
      }
      const fe = err as Partial<FastifyError>;
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return send(
          reply,
          'VIGIL_ERR_PAYLOAD_TOO_LARGE',
          `request body larger than remote_write.max_compressed_bytes = ${limits.maxCompressedBytes}: lower queue_config.max_samples_per_send`,
        );
      }
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return send(reply, 'VIGIL_ERR_INPUT', fe.message ?? 'bad request');
      }
      request.log.error({ err }, 'remote write failed');
      return send(reply, 'VIGIL_ERR_INTERNAL', 'unexpected server error; see the log');
    });

    scope.post(
      REMOTE_WRITE_PATH,
      {
        bodyLimit: limits.maxCompressedBytes,
        // Checks its own content type and encoding (checkHeaders: 415).
        config: { bodyTypes: 'any', scope: 'ingest' },
        schema: {
          tags: ['ingest'],
          summary: 'Prometheus remote-write v1 (snappy-compressed protobuf WriteRequest)',
          description:
            'Series labels map to device/metric/tags as configured in `remote_write` (docs/integrations-prometheus.md). 204 when every sample was accepted or skipped (stale markers, NaN, ±Inf); 400 for data that can never be accepted; 413 over a size limit; 415 for another content type or encoding; 503 with Retry-After when the engine is full (Prometheus retries).',
          response: {
            204: noContent('every sample was accepted (durable) or skipped (stale, NaN, ±Inf)'),
            400: described(
              '`VIGIL_ERR_INPUT`: samples that can never be accepted (the rest of the request is durable), or a body that is not a snappy WriteRequest; Prometheus drops the batch',
            ),
            ...commonIngestAnswers,
            415: described(
              '`VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE`: not `Content-Type: application/x-protobuf` with `Content-Encoding: snappy`',
            ),
            503: described(
              '`VIGIL_ERR_BACKPRESSURE`, `VIGIL_ERR_RATE_LIMITED` (503, not 429, so Prometheus retries), `VIGIL_ERR_NOT_READY` or `VIGIL_ERR_STORE_WRITE`, with `Retry-After`: nothing was accepted, Prometheus sends again',
            ),
          },
        },
      },
      async (request, reply) => {
        checkHeaders(request);
        const body = request.body;
        if (!Buffer.isBuffer(body)) {
          throw new VigilError(
            'VIGIL_ERR_INPUT',
            'empty body: expected a snappy-compressed WriteRequest',
          );
        }
        const decoded = decodeWriteRequest(await decompress(body, limits), limits);
        // Before the samples: a store failure here is a 503 that resends nothing ingested.
        if (units !== undefined && decoded.metadata !== undefined) {
          await units.record(metadataUnits(decoded.metadata));
        }
        const mapped = mapWriteRequest(decoded, mapping);
        for (const reason of ['stale', 'non_finite', 'duplicate'] as const) {
          if (mapped.skipped[reason] > 0) samples.inc({ result: reason }, mapped.skipped[reason]);
        }
        const seriesErrorSamples = mapped.errors.reduce((n, e) => n + e.samples, 0);
        takePoints(request, mapped.points.length); // refused whole, before anything is durable

        let acceptedSamples = 0;
        let pointErrors: Awaited<ReturnType<Engine['ingest']>>['errors'] = [];
        if (mapped.points.length > 0) {
          try {
            const result = await engine.ingest(mapped.points, SOURCE);
            pointErrors = result.errors;
          } catch (err) {
            if (err instanceof BackpressureError) {
              samples.inc(
                { result: 'backpressure' },
                mapped.samplesPerPoint.reduce((n, s) => n + s, 0),
              );
            }
            throw err;
          }
          const rejectedIndex = new Set(pointErrors.map((e) => e.index));
          mapped.samplesPerPoint.forEach((n, i) => {
            if (!rejectedIndex.has(i)) acceptedSamples += n;
          });
        }
        const rejectedSamples =
          mapped.samplesPerPoint.reduce((n, s) => n + s, 0) - acceptedSamples + seriesErrorSamples;
        samples.inc({ result: 'accepted' }, acceptedSamples);
        if (rejectedSamples > 0) samples.inc({ result: 'rejected' }, rejectedSamples);

        if (mapped.errors.length > 0 || pointErrors.length > 0) {
          const message = `${rejectedSamples} of ${mapped.samples} samples rejected (${acceptedSamples} accepted and durable): ${describeErrors(mapped.errors, pointErrors, mapped.points)}`;
          return send(reply, 'VIGIL_ERR_INPUT', message);
        }
        return reply.code(204).send();
      },
    );
  });
}
