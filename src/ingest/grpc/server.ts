/**
 * The gRPC ingest adapter: `vigil.v1.Ingest` (proto/vigil/v1/ingest.proto) over @grpc/grpc-js.
 * Contract (docs/grpc.md): one IngestAck per IngestRequest, in request order, written once the
 * request's points are durable; requests already read go to the engine together but are acked
 * one by one. On backpressure or a slow reader the stream stops reading, so HTTP/2 flow control
 * slows the client and nothing is dropped. With tokens configured, every call is checked on its
 * metadata first (auth.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../../auth/scope.js';
import {
  BackpressureError,
  type Engine,
  type IngestPoint,
  type PointError,
  type ScoredPoint,
} from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import { ingestPointsCounter } from '../../metrics/registry.js';
import type { DetectResponse } from './generated/vigil/v1/DetectResponse.js';
import type { IngestHandlers } from './generated/vigil/v1/Ingest.js';
import {
  decodeDetectRequest,
  decodeIngestRequest,
  encodeAck,
  INPUT_CODE,
  type Ack,
  type DetectInput,
  type Pending,
} from './wire.js';
import { tokenInterceptor } from './auth.js';
import { loadVigilProto } from './proto.js';
import { sleep } from '../../timing/sleep.js';
import { grpcServerCredentials } from '../../tls/grpc-credentials.js';
import type { TlsSource } from '../../tls/reloader.js';

export interface GrpcServerOptions {
  readonly engine: Pick<Engine, 'ingest' | 'detect'>;
  /** Where points refused before the engine are counted (`vigil_ingest_points_total`). */
  readonly registry?: Registry;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 50051; 0 picks a free port (see the returned `port`). */
  readonly port?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, per client connection. Default 1000. */
  readonly maxConcurrentStreams?: number;
  /** Interval of server keep-alive pings on each connection, ms. Default 30,000. */
  readonly keepaliveTimeMs?: number;
  /** A connection whose ping is not answered within this is closed, ms. Default 10,000. */
  readonly keepaliveTimeoutMs?: number;
  /** Largest request message accepted (bigger ones fail the call: RESOURCE_EXHAUSTED). 8 MiB. */
  readonly maxMessageBytes?: number;
  /** More metrics in one point reject that point. Default 1000. */
  readonly maxMetricsPerPoint?: number;
  /** More points in one DataPointBatch reject the whole request (INVALID). Default 10,000. */
  readonly maxPointsPerMessage?: number;
  /** Most points handed to `engine.ingest` in one call when micro-batching. Default 8192. */
  readonly maxPointsPerIngest?: number;
  /** TLS with this certificate, followed as it is reloaded (src/tls); plaintext without. */
  readonly tls?: TlsSource;
  /**
   * The tokens calls are checked against (docs/grpc.md, Tokens). Absent or without tokens: every
   * call passes, as over HTTP.
   */
  readonly auth?: Authenticator;
}

export interface GrpcServer {
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /**
   * Stop accepting calls, stop reading streams, ack every request already read once the engine
   * made it durable, end each stream with UNAVAILABLE (the client resends what was not acked),
   * then shut the server down. After `timeoutMs` (default 10,000) connections are cut.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 50051,
  maxConcurrentStreams: 1000,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  maxMessageBytes: 8 * 1024 * 1024,
  maxMetricsPerPoint: 1000,
  maxPointsPerMessage: 10_000,
  maxPointsPerIngest: 8192,
} as const;

type Settings = Required<Omit<GrpcServerOptions, 'engine' | 'registry' | 'tls' | 'auth'>>;

function ackFor(p: Pending): Ack {
  if (p.invalid !== undefined) {
    return { seq_id: p.seqId, status: 'STATUS_CODE_INVALID', message: p.invalid, errors: [] };
  }
  const rejected = p.errors.length;
  if (rejected === 0) return { seq_id: p.seqId, status: 'STATUS_CODE_OK', message: '', errors: [] };
  const errors = [...p.errors].sort((a, b) => a.index - b.index);
  const status: Ack['status'] = rejected >= p.total ? 'STATUS_CODE_INVALID' : 'STATUS_CODE_PARTIAL';
  const first = errors[0] as PointError;
  const message =
    p.total === 1
      ? first.message
      : `${rejected} of ${p.total} points rejected; first: points[${first.index}] ${first.message}`;
  return { seq_id: p.seqId, status, message, errors };
}

function retryAck(p: Pending, why: string): Ack {
  return { seq_id: p.seqId, status: 'STATUS_CODE_RETRY', message: why, errors: [] };
}

const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Ingest.Stream's requests arrive decoded by decodeIngestRequest (see startGrpcServer). */
type Call = grpc.ServerDuplexStream<Pending, Ack>;

/** Engine calls of one stream awaiting their fsync at once (their acks are written in order). */
const MAX_INFLIGHT = 4;

/** State of one Ingest.Stream call. */
class IngestStream {
  private readonly queue: Pending[] = [];
  private queuedPoints = 0;
  /** Batches handed to the engine whose acks are not written yet. */
  private inflight = 0;
  /** Writing of acks, in request order. */
  private acked: Promise<void> = Promise.resolve();
  private busy = false;
  private clientEnded = false;
  private gone = false;
  private finished = false;
  private draining = false;
  private readonly highWaterPoints: number;
  private readonly highWaterMessages: number;
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly call: Call,
    private readonly engine: Pick<Engine, 'ingest' | 'detect'>,
    private readonly settings: Settings,
    private readonly onDone: (stream: IngestStream) => void,
    private readonly refused: (points: number) => void,
  ) {
    this.highWaterPoints = 2 * settings.maxPointsPerIngest;
    this.highWaterMessages = settings.maxPointsPerIngest;
    call.on('data', (req: Pending) => this.onData(req));
    call.on('end', () => {
      this.clientEnded = true;
      void this.pump();
    });
    const gone = (): void => {
      this.gone = true;
      this.finish();
    };
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', () => {
      // grpc-js turns an emitted error into the call's status; nothing else to do here.
    });
  }

  /** Stop reading; ack what was read; then end the call. Resolves when the call is over. */
  drain(): Promise<void> {
    this.draining = true;
    this.call.pause();
    if (this.finished) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      this.onDrained = resolve;
    });
    void this.pump();
    return done;
  }

  private onData(pending: Pending): void {
    if (this.draining) {
      // Read before pause() took effect: not acked, so the client resends it.
      return;
    }
    this.queue.push(pending);
    this.queuedPoints += pending.points.length;
    if (this.queuedPoints >= this.highWaterPoints || this.queue.length >= this.highWaterMessages) {
      this.call.pause();
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.gone) {
        await this.pipeline();
        // Requests read while the last acks were written are taken by the next round.
        await this.acked;
      }
      if (this.queue.length === 0 && (this.clientEnded || this.draining)) {
        if (this.draining && !this.clientEnded && !this.gone) {
          this.call.emit('error', {
            code: grpc.status.UNAVAILABLE,
            details: 'server shutting down; resend unacknowledged requests',
          });
        } else if (!this.gone) {
          this.call.end();
        }
        this.finish();
      }
    } catch (err) {
      if (!this.gone) {
        this.call.emit('error', {
          code: grpc.status.INTERNAL,
          details: err instanceof Error ? err.message : String(err),
        });
      }
      this.finish();
    } finally {
      this.busy = false;
    }
  }

  /** Hand queued requests to the engine, pipelined; resolves when the queue is taken. */
  private async pipeline(): Promise<void> {
    while (this.queue.length > 0 && !this.gone) {
      // Let the messages already received on the socket arrive first, so one point per
      // message still reaches the engine in batches (one event-loop turn of latency).
      if (this.queuedPoints < this.settings.maxPointsPerIngest) await yieldToIo();
      if (this.gone) break;
      const take = this.takeBatch();
      // Pipelined: the next batch may go to the engine once this one holds its place in the
      // spool order (not after its fsync), so reading, decoding and validation overlap the
      // fsync. Acks are still written in request order, each after its own batch is durable.
      let queued!: () => void;
      const placed = new Promise<void>((resolve) => (queued = resolve));
      const acks = this.ingest(take, queued);
      this.inflight++;
      const written = this.acked.then(async () => {
        const list = await acks;
        this.inflight--;
        if (this.gone) return;
        let writable = true;
        for (const ack of list) writable = this.call.write(ack);
        if (!writable) await this.writeDrained();
      });
      this.acked = written;
      // Settles when accepted (placed) or once finished (an engine without onQueued).
      await Promise.race([placed, written]);
      while (this.inflight >= MAX_INFLIGHT && !this.gone) await this.acked;
      if (this.gone) break;
      if (!this.draining && this.queuedPoints < this.highWaterPoints / 2) this.call.resume();
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(this);
    this.onDrained?.();
  }

  /** Consecutive queued requests, up to maxPointsPerIngest points (at least one request). */
  private takeBatch(): Pending[] {
    const take: Pending[] = [];
    let points = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (take.length > 0 && points + next.points.length > this.settings.maxPointsPerIngest) break;
      this.queue.shift();
      take.push(next);
      points += next.points.length;
    }
    this.queuedPoints -= points;
    return take;
  }

  /** Hand the requests' points to the engine, retrying on backpressure; one ack per request. */
  private async ingest(take: Pending[], onQueued: () => void): Promise<Ack[]> {
    // The engine counts what reaches it; points the wire decoder refused are counted here.
    this.refused(
      take.reduce((n, p) => n + (p.invalid === undefined ? p.errors.length : p.total), 0),
    );
    const batch: IngestPoint[] = [];
    const offsets: number[] = [];
    for (const p of take) {
      offsets.push(batch.length);
      for (const point of p.points) batch.push(point);
    }
    if (batch.length > 0) {
      for (;;) {
        try {
          const result = await this.engine.ingest(batch, 'grpc', onQueued);
          this.assignErrors(take, offsets, result.errors);
          break;
        } catch (err) {
          if (err instanceof BackpressureError) {
            // Stop reading so HTTP/2 flow control pushes back on the client; try again later.
            this.call.pause();
            if (this.gone) return [];
            await sleep(Math.min(Math.max(err.retryAfterMs, 1), 1000));
            if (this.gone) return [];
            continue;
          }
          const why = `not stored, resend: ${err instanceof Error ? err.message : String(err)}`;
          return take.map((p) => (p.invalid !== undefined ? ackFor(p) : retryAck(p, why)));
        }
      }
    }
    return take.map(ackFor);
  }

  private assignErrors(take: Pending[], offsets: number[], errors: readonly PointError[]): void {
    for (const e of errors) {
      // The last request whose offset is <= e.index (binary search).
      let lo = 0;
      let hi = offsets.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((offsets[mid] as number) <= e.index) lo = mid;
        else hi = mid - 1;
      }
      const p = take[lo] as Pending;
      const local = e.index - (offsets[lo] as number);
      const index = p.origin === undefined ? local : (p.origin[local] as number);
      p.errors.push({ index, code: e.code, message: e.message });
    }
  }

  private writeDrained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.call.off('close', done);
        resolve();
      };
      this.call.on('drain', done);
      this.call.on('close', done);
    });
  }
}

function detectError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof BackpressureError) {
    return { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message };
  }
  const code = (err as { code?: unknown } | null)?.code;
  const details = err instanceof Error ? err.message : String(err);
  if (code === INPUT_CODE) return { code: grpc.status.INVALID_ARGUMENT, details };
  // Nobody can score it right now (a cluster partition between owners, a store away): the
  // client's retry policy should retry, which UNAVAILABLE tells it and INTERNAL does not.
  if (code === 'VIGIL_ERR_NOT_READY' || code === 'VIGIL_ERR_STORE_UNAVAILABLE') {
    return { code: grpc.status.UNAVAILABLE, details };
  }
  return { code: grpc.status.INTERNAL, details };
}

function scoreToWire(s: ScoredPoint): NonNullable<DetectResponse['scores']>[number] {
  return {
    device_id: s.device_id,
    metric: s.metric,
    timestamp: String(s.timestamp),
    value: s.value,
    score: s.score,
    level: s.level,
    strategy: s.strategy,
  };
}

async function detect(
  engine: Pick<Engine, 'detect'>,
  request: DetectInput,
): Promise<DetectResponse> {
  if (request.error !== undefined) {
    throw new VigilError('VIGIL_ERR_INPUT', request.error);
  }
  const scores = await engine.detect(request.points);
  return { scores: scores.map(scoreToWire) };
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { engine } = options;
  const settings: Settings = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULTS.maxConcurrentStreams,
    keepaliveTimeMs: options.keepaliveTimeMs ?? DEFAULTS.keepaliveTimeMs,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? DEFAULTS.keepaliveTimeoutMs,
    maxMessageBytes: options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    maxMetricsPerPoint: options.maxMetricsPerPoint ?? DEFAULTS.maxMetricsPerPoint,
    maxPointsPerMessage: options.maxPointsPerMessage ?? DEFAULTS.maxPointsPerMessage,
    maxPointsPerIngest: options.maxPointsPerIngest ?? DEFAULTS.maxPointsPerIngest,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (
      typeof value === 'number' &&
      !(Number.isInteger(value) && value >= (name === 'port' ? 0 : 1))
    ) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `grpc option ${name}: ${value} is not a valid count`,
      );
    }
  }

  const server = new grpc.Server({
    'grpc.max_concurrent_streams': settings.maxConcurrentStreams,
    'grpc.keepalive_time_ms': settings.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': settings.keepaliveTimeoutMs,
    'grpc.max_receive_message_length': settings.maxMessageBytes,
    'grpc.max_send_message_length': settings.maxMessageBytes,
    interceptors: options.auth?.enabled ? [tokenInterceptor(options.auth)] : [],
  });

  const streams = new Set<IngestStream>();
  let closing = false;
  const counter = options.registry && ingestPointsCounter(options.registry);
  const refused = (points: number): void => {
    if (points > 0) counter?.inc({ protocol: 'grpc', result: 'rejected' }, points);
  };

  const handlers: IngestHandlers = {
    Stream(untyped) {
      const call = untyped as unknown as Call;
      if (closing) {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'server shutting down' });
        return;
      }
      streams.add(new IngestStream(call, engine, settings, (s) => streams.delete(s), refused));
    },
    Detect(call, callback) {
      detect(engine, call.request as unknown as DetectInput).then(
        (response) => callback(null, response),
        (err: unknown) => callback(detectError(err)),
      );
    },
  };
  const service = loadVigilProto().vigil.v1.Ingest.service;
  server.addService(
    {
      ...service,
      Stream: {
        ...service.Stream,
        requestDeserialize: (bytes: Buffer) => decodeIngestRequest(bytes, settings),
        responseSerialize: encodeAck,
      },
      Detect: {
        ...service.Detect,
        requestDeserialize: (bytes: Buffer) => decodeDetectRequest(bytes, settings),
      },
    },
    handlers,
  );

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${settings.host}:${settings.port}`,
      options.tls ? grpcServerCredentials(options.tls) : grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    );
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    close({ timeoutMs = 10_000 } = {}) {
      closed ??= (async () => {
        closing = true;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        });
        const graceful = (async () => {
          await Promise.all([...streams].map((s) => s.drain()));
          await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        })();
        await Promise.race([graceful, timeout]);
        clearTimeout(timer);
        server.forceShutdown();
      })();
      return closed;
    },
  };
}
