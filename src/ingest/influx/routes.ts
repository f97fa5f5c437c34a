/**
 * Influx-compatible write endpoints, so Telegraf and Influx client libraries can send to Vigil:
 * `POST /api/v2/write` (v2: `org`, `bucket` accepted and ignored, `precision` ns|us|ms|s) and
 * `POST /write` (v1: `db`, `rp`, `u`, `p` ignored, `precision` n|ns|u|us|ms|s|m|h). Bodies are line
 * protocol, plain or `Content-Encoding: gzip` (or deflate). Answers as InfluxDB does: 204 when
 * every line was accepted; 400 naming each failing line while the good lines are still ingested
 * (`partial write: …`), or 400 `no lines written: …` when every line failed; 413 too large; 429
 * with Retry-After on backpressure. Tokens are checked by src/auth like every route's.
 */
import type { Registry } from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/engine.js';
import { takePoints } from '../../auth/rate-limit.js';
import { quoteInput } from '../../data/quote.js';
import { commonIngestAnswers, described, noContent } from '../http/answers.js';
import { decodeBody } from '../http/content-encoding.js';
import { VigilError } from '../../errors.js';
import { requireUtf8 } from '../utf8.js';
import { counter, ingestPointsCounter } from '../../metrics/registry.js';
import {
  parseLineProtocol,
  V1_PRECISIONS,
  V2_PRECISIONS,
  type LineError,
  type LineLimits,
} from './line-protocol.js';
import { defaultInfluxMapping, recordsToPoints, type InfluxMapping } from './to-points.js';

export interface InfluxRoutesOptions {
  readonly engine: Pick<Engine, 'ingest'>;
  readonly registry: Registry;
  /** Largest body, compressed and decompressed, bytes. Default 8 MiB. */
  readonly bodyBytes?: number;
  /** Most lines (records) in one request. Default 50,000. */
  readonly linesPerRequest?: number;
  readonly mapping?: Partial<InfluxMapping>;
  /** Per-line bounds; defaults in line-protocol.ts. */
  readonly lineLimits?: Partial<LineLimits>;
  /** Receive time for lines without a timestamp (ms). Default Date.now. */
  readonly clock?: () => number;
}

/** One failing line in a partial-write answer. */
export interface LineProblem {
  readonly line: number;
  readonly code: string;
  readonly what: string;
  readonly message: string;
}

async function readBody(request: FastifyRequest, limit: number): Promise<string> {
  const raw = request.body;
  const buffer = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const bytes = await decodeBody(buffer, request.headers['content-encoding'], limit);
  return utf8Text(bytes, bytes === buffer ? 'body' : 'decompressed body');
}

/** Line protocol is UTF-8: a bad byte is refused, never replaced (src/ingest/utf8.ts). */
function utf8Text(bytes: Buffer, what = 'body'): string {
  requireUtf8(bytes, what);
  return bytes.toString('utf8');
}

function problem(e: LineError, code = 'VIGIL_ERR_INPUT'): LineProblem {
  return { line: e.line, code, what: e.what, message: `line ${e.line}: ${e.what}: ${e.why}` };
}

export function registerInfluxRoutes(app: FastifyInstance, options: InfluxRoutesOptions): void {
  const { engine, registry } = options;
  const bodyBytes = options.bodyBytes ?? 8 * 1024 * 1024;
  const linesPerRequest = options.linesPerRequest ?? 50_000;
  const mapping: InfluxMapping = { ...defaultInfluxMapping, ...options.mapping };
  const clock = options.clock ?? Date.now;
  const points = ingestPointsCounter(registry);
  const stringFields = counter(
    registry,
    'vigil_influx_string_fields_skipped_total',
    'Influx line-protocol string fields skipped (Vigil scores numbers only)',
    [],
  );

  async function write(
    request: FastifyRequest,
    reply: FastifyReply,
    precisions: readonly string[],
  ): Promise<FastifyReply> {
    const query = request.query as Record<string, string | undefined>;
    const precision = query.precision ?? 'ns';
    if (!precisions.includes(precision)) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `precision: ${quoteInput(precision)} is not one of ${precisions.join(', ')}`,
      );
    }
    const receivedMs = clock();
    const text = await readBody(request, bodyBytes);
    const parsed = parseLineProtocol(text, options.lineLimits);
    if (parsed.total > linesPerRequest) {
      throw new VigilError(
        'VIGIL_ERR_PAYLOAD_TOO_LARGE',
        `${parsed.total} lines in one request, the limit is ${linesPerRequest}: split the batch`,
      );
    }
    const mapped = recordsToPoints(parsed.records, { mapping, precision, receivedMs });
    if (mapped.stringFields > 0) stringFields.inc(mapped.stringFields);
    takePoints(request, mapped.points.length); // refused whole, before anything is durable
    let accepted = 0;
    const problems: LineProblem[] = [...parsed.errors, ...mapped.errors].map((e) => problem(e));
    // The engine counts what reaches it; lines that did not parse or map are counted here.
    if (problems.length > 0)
      points.inc({ protocol: 'influx', result: 'rejected' }, problems.length);
    if (mapped.points.length > 0) {
      const result = await engine.ingest(mapped.points, 'influx');
      accepted = result.accepted;
      for (const e of result.errors) {
        const line = mapped.lines[e.index] ?? 0;
        problems.push({ line, code: e.code, what: 'point', message: `line ${line}: ${e.message}` });
      }
    }
    if (problems.length === 0) return reply.code(204).send();
    problems.sort((a, b) => a.line - b.line);
    const first = problems[0]?.message ?? '';
    // As InfluxDB: "partial write" only when some lines were written; otherwise nothing was.
    const summary =
      accepted > 0
        ? `partial write: ${problems.length} of ${parsed.total} lines rejected, ${accepted} accepted`
        : `no lines written: ${problems.length} of ${parsed.total} lines rejected`;
    return reply.code(400).send({
      code: 'VIGIL_ERR_INPUT',
      message: `${summary}; first: ${first}`,
      accepted,
      errors: problems,
    });
  }

  const response = {
    204: noContent('every line was accepted (durable)'),
    400: {
      type: 'object',
      description:
        '`VIGIL_ERR_INPUT`: `partial write: …` (the other lines were accepted), `no lines written: …` (every line failed), or a bad `precision` / body; `errors` names each failing line',
      properties: {
        code: { type: 'string', example: 'VIGIL_ERR_INPUT' },
        message: { type: 'string' },
        accepted: { type: 'integer', description: 'lines accepted (durable)' },
        errors: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              line: { type: 'integer' },
              code: { type: 'string' },
              what: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
      required: ['code', 'message'],
    },
    ...commonIngestAnswers,
    415: described(
      '`VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE`: a `Content-Encoding` other than gzip, deflate or none',
    ),
    429: described(
      '`VIGIL_ERR_BACKPRESSURE` or `VIGIL_ERR_RATE_LIMITED`, with `Retry-After` (seconds): nothing was accepted, send again',
    ),
    503: described(
      '`VIGIL_ERR_NOT_READY` (starting or shutting down) or `VIGIL_ERR_STORE_WRITE`, with `Retry-After`: nothing was accepted, send again',
    ),
  };

  const querystring = (precisions: readonly string[]) => ({
    type: 'object',
    properties: {
      precision: { type: 'string', enum: [...precisions], default: 'ns' },
      org: { type: 'string', description: 'accepted and ignored' },
      bucket: { type: 'string', description: 'accepted and ignored' },
      db: { type: 'string', description: 'accepted and ignored' },
    },
  });

  void app.register(async (scope) => {
    // Line protocol arrives as text/plain, octet-stream or no type at all: read any as bytes.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: bodyBytes }, (_r, body, done) =>
      done(null, body),
    );
    const common = {
      // precision is checked in the handler, naming the allowed values of each API.
      validatorCompiler: () => () => true,
      bodyLimit: bodyBytes,
      // Line protocol in any content type: Telegraf sends text/plain.
      config: { bodyTypes: 'any' as const, scope: 'ingest' as const },
    };
    scope.post(
      '/api/v2/write',
      {
        ...common,
        schema: {
          tags: ['ingest'],
          summary: 'InfluxDB v2 write: line protocol (Telegraf outputs.influxdb_v2)',
          querystring: querystring(V2_PRECISIONS),
          response,
        },
      },
      (request, reply) => write(request, reply, V2_PRECISIONS),
    );
    scope.post(
      '/write',
      {
        ...common,
        // InfluxDB v1 clients may send the token as `?u=…&p=…` (src/auth/credentials.ts).
        config: { ...common.config, tokenInQuery: true },
        schema: {
          tags: ['ingest'],
          summary: 'InfluxDB v1 write: line protocol (Telegraf outputs.influxdb)',
          querystring: querystring(V1_PRECISIONS),
          response,
        },
      },
      (request, reply) => write(request, reply, V1_PRECISIONS),
    );
  });
}
