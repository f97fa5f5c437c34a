/**
 * `POST /v1/points`: points as JSON (an array) or NDJSON (a point per line) into the engine.
 * Answers 200 with the points accepted (durable) and one error per rejected point by its index
 * in the request; 413 over `pointsPerRequest`; 415 for another content type; backpressure and
 * the body-size limit are answered by the app's error handler (429 with Retry-After, 413).
 * Bodies may be gzip or deflate (content-encoding.ts); the body limit holds after inflating.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Engine, PointError } from '../../engine/engine.js';
import { takePoints } from '../../auth/rate-limit.js';
import { VigilError } from '../../errors.js';
import { ingestPointsCounter } from '../../metrics/registry.js';
import { invalidUtf8At, notUtf8 } from '../utf8.js';
import { decodeBody } from './content-encoding.js';
import { jsonFaultMessage } from './json-error.js';
import { parseJsonBody, parseNdjsonBody } from './parse-points.js';
import { ingestRoute } from './schema.js';

export interface PointsRouteOptions {
  readonly engine: Pick<Engine, 'ingest'>;
  readonly registry: Registry;
  /** Most points (array elements or NDJSON lines) in one request (413 beyond). Default 50,000. */
  readonly pointsPerRequest?: number;
}

export const defaultPointsPerRequest = 50_000;

const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'];

/**
 * The body as text: inflated when it has a Content-Encoding (up to the route's body limit), then
 * checked as UTF-8.
 * @throws VigilError naming the first byte that is not UTF-8, or the encoding's problem.
 */
async function bodyText(request: FastifyRequest, body: Buffer): Promise<string> {
  const header = request.headers['content-encoding'];
  const bytes = await decodeBody(body, header, request.routeOptions.bodyLimit);
  const at = invalidUtf8At(bytes);
  if (at !== -1) {
    throw notUtf8(bytes === body ? 'body' : 'decompressed body', at);
  }
  return bytes.toString('utf8');
}

const invalidJson = (err: Error): boolean =>
  (err as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_JSON_BODY';

/** Why `text` is not JSON, with the position of the fault. */
function notJson(text: string): VigilError {
  const where = jsonFaultMessage(text);
  return new VigilError(
    'VIGIL_ERR_INPUT',
    where === undefined
      ? 'body holds a "__proto__" or "constructor.prototype" key, which is refused'
      : `body is not valid JSON at ${where}`,
  );
}

/** Registers the route in its own scope (the NDJSON parser is its own), before the app listens. */
export async function registerPointsRoute(
  app: FastifyInstance,
  options: PointsRouteOptions,
): Promise<void> {
  const { engine } = options;
  const pointsPerRequest = options.pointsPerRequest ?? defaultPointsPerRequest;
  const points = ingestPointsCounter(options.registry);

  await app.register(async (scope) => {
    // Both read as bytes, inflated when gzip or deflate (the body limit counts the inflated
    // bytes), checked as UTF-8 whole (src/ingest/utf8.ts), then decoded: the default parsers
    // would turn a bad byte into U+FFFD inside a device id.
    const json = scope.getDefaultJsonParser('error', 'error');
    scope.removeContentTypeParser('application/json');
    // Fastify's text/plain parser would pass an empty text/plain body on as NDJSON: 415 here.
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer' },
      async (request: FastifyRequest, body: Buffer) => {
        const text = await bodyText(request, body);
        return new Promise((resolve, reject) => {
          json(request, text, (err, value) => {
            if (err === null) resolve(value);
            else reject(invalidJson(err) ? notJson(text) : err);
          });
        });
      },
    );
    scope.addContentTypeParser(
      NDJSON_TYPES,
      { parseAs: 'buffer' },
      async (request: FastifyRequest, body: Buffer) => bodyText(request, body),
    );
    scope.post(
      '/v1/points',
      {
        schema: ingestRoute,
        // Checked before the body is read (src/server/write-guard.ts): text/plain is 415.
        config: { bodyTypes: ['application/json', ...NDJSON_TYPES], scope: 'ingest' },
        // The body schema documents the shape; parse-points checks it per point, by index.
        validatorCompiler: () => () => true,
        errorHandler: (error: FastifyError) => {
          if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
            throw new VigilError(
              'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
              'send application/json (an array of points) or application/x-ndjson (a point per line)',
            );
          }
          throw error; // the app's handler answers the rest as everywhere else
        },
      },
      async (request: FastifyRequest) => {
        const parsed =
          typeof request.body === 'string'
            ? parseNdjsonBody(request.body)
            : parseJsonBody(request.body);
        if (parsed.total > pointsPerRequest) {
          throw new VigilError(
            'VIGIL_ERR_PAYLOAD_TOO_LARGE',
            `${parsed.total} points in one request, the limit is ${pointsPerRequest}: split the batch`,
          );
        }
        takePoints(request, parsed.points.length); // refused whole, before anything is durable
        let accepted = 0;
        let engineErrors: readonly PointError[] = [];
        if (parsed.points.length > 0) {
          const result = await engine.ingest(parsed.points, 'http');
          accepted = result.accepted;
          engineErrors = result.errors;
        }
        const errors = [
          ...parsed.errors,
          ...engineErrors.map((e) => ({ ...e, index: parsed.indices[e.index] ?? e.index })),
        ].sort((a, b) => a.index - b.index);
        // The engine counts what reaches it; points that did not parse are counted here.
        if (parsed.errors.length > 0) {
          points.inc({ protocol: 'http', result: 'rejected' }, parsed.errors.length);
        }
        return { accepted, errors };
      },
    );
  });
}
