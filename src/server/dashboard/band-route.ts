/**
 * `GET /v1/band`: the expected band of one series over a time range, per bucket
 * (expected-band.ts), for the series chart's shaded band. Recomputed from the stored points on
 * each request, so it covers any range and is there after a restart.
 */
import { seriesRangeQuery } from '../schemas.js';
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors.js';
import { errorResponses } from '../../http-api/error-schema.js';
import type { Store } from '../../store/store.js';
import { parseDuration, parseTime } from '../query-params.js';
import { BAND_K, BAND_MIN_HISTORY, BAND_WINDOW, expectedBand } from './expected-band.js';

const HOUR = 3_600_000;
/** Buckets per answer at most (the chart asks for about one per pixel). */
export const BAND_BUCKETS_MAX = 10_000;

export function registerBandRoute(
  app: FastifyInstance,
  store: Pick<Store, 'querier'>,
  clock: () => number,
): void {
  app.get(
    '/v1/band',
    {
      schema: {
        summary: 'The expected band of one series over time',
        description:
          `Per bucket: the median of the ${BAND_WINDOW} buckets before it (their averages) ± ` +
          `${BAND_K} robust deviations (1.4826 · MAD, at least the buckets' typical half-range); ` +
          `null until ${BAND_MIN_HISTORY} buckets of history precede it. Recomputed from the ` +
          'stored points (the window reaches back before `from`), so any range and any past ' +
          'has one. Buckets without points are omitted, as in `GET /v1/points`.',
        tags: ['query'],
        querystring: seriesRangeQuery('ms, or 30s, 5m, 1h, 1d (default 1m)'),
        response: {
          200: {
            type: 'object',
            description:
              '`{device, metric, bucket_ms, method, window, k, times, expected, lower, upper}`',
            additionalProperties: true,
          },
          ...errorResponses(400, 500),
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | undefined>;
      const device = q.device ?? '';
      const metric = q.metric ?? '';
      const to = q.to === undefined ? clock() : parseTime('to', q.to);
      const from = q.from === undefined ? to - HOUR : parseTime('from', q.from);
      if (!(from < to)) {
        throw new VigilError('VIGIL_ERR_INPUT', `from (${from}) must be before to (${to})`);
      }
      const bucketMs = q.bucket === undefined ? 60_000 : parseDuration('bucket', q.bucket);
      const buckets = Math.ceil((to - from) / bucketMs);
      if (buckets > BAND_BUCKETS_MAX) {
        throw new VigilError(
          'VIGIL_ERR_INPUT',
          `bucket: ${buckets} buckets in the range, the limit is ${BAND_BUCKETS_MAX}: use a larger bucket or a shorter range`,
        );
      }
      const start = Math.floor(from / bucketMs) * bucketMs;
      const r = await store.querier.points({
        device,
        metric,
        from: start - BAND_WINDOW * bucketMs,
        to,
        bucketMs,
      });
      if (r.kind !== 'buckets') throw new VigilError('VIGIL_ERR_STORE_QUERY', 'expected buckets');
      return {
        device,
        metric,
        bucket_ms: r.bucketMs,
        method: 'trailing-median-mad',
        window: BAND_WINDOW,
        k: BAND_K,
        ...expectedBand(r, start),
      };
    },
  );
}
