/**
 * GET /v1/stream: the engine's live feed as Server-Sent Events. One engine subscription per
 * client, dropped when the client goes away or the server closes. A client that cannot keep up
 * loses score messages (counted), never event messages, so memory stays bounded per connection.
 */
import type { FastifyInstance } from 'fastify';
import type { Engine, EngineFeedItem } from '../engine/engine.js';
import type { Level } from '../core/thresholds/threshold.js';
import type { HttpMetrics } from './metrics.js';

export interface StreamOptions {
  readonly engine: Pick<Engine, 'subscribe'>;
  readonly metrics: HttpMetrics;
  readonly heartbeatMs: number;
  readonly schema: object;
}

/** Bytes waiting in a client's socket beyond which score messages are skipped. */
const MAX_BUFFERED = 1 << 20;

const RANK: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };

function isLevel(value: string | undefined): value is Level {
  return value === 'ok' || value === 'alert' || value === 'severe';
}

/** An event's series is `device/metric`, or the device itself for a device-level event. */
function ofDevice(series: string, device: string): boolean {
  return series === device || (series.startsWith(device) && series[device.length] === '/');
}

export function registerStream(app: FastifyInstance, options: StreamOptions): void {
  const { engine, metrics } = options;
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/v1/stream', { schema: options.schema }, (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const device = q.device;
    const minRank = isLevel(q.level) ? RANK[q.level] : 0;
    const only = q.type === 'score' || q.type === 'event' ? q.type : undefined;

    const wanted = (item: EngineFeedItem): boolean => {
      if (only !== undefined && item.type !== only) return false;
      if (item.type === 'score') {
        return (
          (device === undefined || item.point.device_id === device) &&
          RANK[item.point.level] >= minRank
        );
      }
      return (
        (device === undefined || ofDevice(item.event.series, device)) &&
        RANK[item.event.level] >= minRank
      );
    };

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    request.raw.socket.setTimeout(0);
    res.write('retry: 3000\n\n');

    const unsubscribe = engine.subscribe((item) => {
      if (!wanted(item)) return;
      if (item.type === 'score') {
        if (res.writableLength > MAX_BUFFERED) {
          metrics.sseDropped.inc();
          return;
        }
        res.write(`event: score\ndata: ${JSON.stringify(item.point)}\n\n`);
      } else {
        res.write(
          `event: event\ndata: ${JSON.stringify({ change: item.change, event: item.event })}\n\n`,
        );
      }
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs);
    metrics.sseClients.inc();

    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      metrics.sseClients.dec();
      open.delete(end);
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    res.on('close', end);
  });
}
