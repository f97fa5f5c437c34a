/**
 * The load generator of `npm run bench:ingest`, run as its own process so its CPU is not the
 * server's. Sends bench points (src/bench/ingest-data.ts) over real sockets and prints one JSON
 * line (LoadResult) with ack-latency percentiles.
 *
 *   node dist/bench/ingest-load.js --transport grpc-batch|grpc-point|http \
 *     --grpc 127.0.0.1:50051 --http http://127.0.0.1:8080 --prefix p1 \
 *     --mode closed --window 8 | --mode open --rate 100000 \
 *     --seconds 10 --max-points 5000000
 *
 * closed: keep `window` requests in flight for `seconds` (finds the maximum).
 * open: send requests on a fixed schedule at `rate` points/s for `seconds`; latency is measured
 * from the scheduled send time, so a server that falls behind shows it in p99 (at most
 * 4 × window requests are in flight; later ones wait and their wait counts).
 * Both stop at `max-points` and wait at most 60 s for the last acks.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProtoGrpcType } from '../ingest/grpc/generated/ingest.js';
import type { DataPoint } from '../ingest/grpc/generated/vigil/v1/DataPoint.js';
import type { IngestAck__Output } from '../ingest/grpc/generated/vigil/v1/IngestAck.js';
import type { IngestRequest } from '../ingest/grpc/generated/vigil/v1/IngestRequest.js';
import { benchPoint, METRIC, type LoadResult } from './ingest-data.js';
import { VigilError } from '../errors.js';

const { values: args } = parseArgs({
  options: {
    transport: { type: 'string', default: 'grpc-batch' },
    grpc: { type: 'string', default: '127.0.0.1:50051' },
    http: { type: 'string', default: 'http://127.0.0.1:8080' },
    prefix: { type: 'string', default: 'bench' },
    mode: { type: 'string', default: 'closed' },
    window: { type: 'string' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    'max-points': { type: 'string', default: '5000000' },
    batch: { type: 'string', default: '1000' },
  },
});

const transport = args.transport;
if (transport !== 'grpc-batch' && transport !== 'grpc-point' && transport !== 'http') {
  throw new VigilError('VIGIL_ERR_USAGE', `--transport: unknown ${transport}`);
}
const mode = args.mode === 'open' ? 'open' : 'closed';
const batch = transport === 'grpc-point' ? 1 : Number(args.batch);
const window = Number(args.window ?? (transport === 'grpc-point' ? 2000 : 8));
const seconds = Number(args.seconds);
const maxRequests = Math.max(1, Math.floor(Number(args['max-points']) / batch));
const rate = Number(args.rate);
const prefix = args.prefix;

/** Completion of one request: how many points were accepted, or an error. */
type Done = (accepted: number, ok: boolean) => void;
interface Sender {
  /** Requests it can send (gRPC encodes them up front); the run ends when they are all sent. */
  readonly capacity: number;
  /** False when the transport asks to wait (gRPC write back-pressure). */
  send(k: number, done: Done): boolean;
  /** Resolves when the transport can take more. */
  ready(): Promise<void>;
  close(): void;
}

function grpcPoint(i: number): DataPoint {
  const p = benchPoint(prefix, i);
  return { timestamp: p.time, device_id: p.device, metrics: { [METRIC]: p.value } };
}

/**
 * Every request this run may send, protobuf-encoded before the clock starts (one buffer and its
 * offsets): clients run on other machines in production, and here the load generator shares the
 * server's two cores, so encoding while sending would take CPU from the server being measured.
 */
function encodeRequests(type: protobuf.Type): { bytes: Buffer; offsets: Float64Array } {
  // Open loop: what the schedule sends. Closed loop: enough for 400,000 points/s, twice the
  // highest rate asked of the server.
  const expected = Math.ceil(((mode === 'open' ? rate : 400_000) * seconds) / batch) + 1;
  const count = Math.min(maxRequests, expected);
  const parts: Uint8Array[] = [];
  const offsets = new Float64Array(count + 1);
  let size = 0;
  for (let k = 0; k < count; k++) {
    let request: IngestRequest;
    if (batch === 1) {
      request = { point: { ...grpcPoint(k), seq_id: k } };
    } else {
      const points: DataPoint[] = [];
      for (let i = k * batch; i < (k + 1) * batch; i++) points.push(grpcPoint(i));
      request = { batch: { seq_id: k, points } };
    }
    const encoded = type.encode(type.fromObject(request)).finish();
    parts.push(encoded);
    size += encoded.length;
    offsets[k + 1] = size;
  }
  return { bytes: Buffer.concat(parts, size), offsets };
}

function grpcSender(): Sender {
  const protoFile = fileURLToPath(new URL('../../proto/vigil/v1/ingest.proto', import.meta.url));
  const def = protoLoader.loadSync(protoFile, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { vigil } = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  const root = new protobuf.Root().loadSync(protoFile, { keepCase: true });
  const t = performance.now();
  const { bytes, offsets } = encodeRequests(root.lookupType('vigil.v1.IngestRequest'));
  const capacity = offsets.length - 1;
  process.stderr.write(
    `encoded ${capacity} requests in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
  );
  // A standard generated client whose Stream method sends the already-encoded bytes as they are.
  const service = vigil.v1.Ingest.service;
  const Client = grpc.makeGenericClientConstructor(
    { ...service, Stream: { ...service.Stream, requestSerialize: (b: Buffer) => b } },
    'Ingest',
  );
  const client = new Client(args.grpc, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  const call = (
    client as unknown as { Stream(): grpc.ClientDuplexStream<Buffer, IngestAck__Output> }
  ).Stream();
  const pending: { done: Done; points: number }[] = [];
  let head = 0;
  let writable = true;
  let waiters: (() => void)[] = [];
  call.on('data', (ack: IngestAck__Output) => {
    const req = pending[head];
    if (req === undefined) return;
    pending[head++] = { done: () => {}, points: 0 };
    if (head > 4096 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    const ok = ack.status === 'STATUS_CODE_OK';
    req.done(ok ? req.points : 0, ok);
  });
  call.on('error', (err: Error) => {
    if (!/CANCELLED/.test(err.message)) process.stderr.write(`grpc stream: ${err.message}\n`);
    for (let j = head; j < pending.length; j++) pending[j]!.done(0, false);
    pending.length = 0;
    head = 0;
  });
  call.on('drain', () => {
    writable = true;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  return {
    capacity,
    send(k, done) {
      pending.push({ done, points: batch });
      writable = call.write(bytes.subarray(offsets[k], offsets[k + 1]));
      return writable;
    },
    ready: () => (writable ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    close() {
      call.end();
      call.cancel();
      client.close();
    },
  };
}

function httpSender(): Sender {
  const url = `${args.http}/v1/points`;
  return {
    capacity: Number.POSITIVE_INFINITY,
    send(k, done) {
      const lines: string[] = [];
      for (let i = k * batch; i < (k + 1) * batch; i++) {
        const p = benchPoint(prefix, i);
        lines.push(
          JSON.stringify({
            timestamp: p.time,
            device_id: p.device,
            metrics: { [METRIC]: p.value },
          }),
        );
      }
      const body = lines.join('\n') + '\n';
      const attempt = async (tries: number): Promise<void> => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        const text = await res.text();
        if (res.status === 429 && tries < 100) {
          const after = Number(res.headers.get('retry-after') ?? '0.05');
          await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(10, after * 1000))));
          return attempt(tries + 1);
        }
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        const answer = JSON.parse(text) as { accepted: number; errors: unknown[] };
        done(answer.accepted, answer.errors.length === 0);
      };
      attempt(0).catch((err: unknown) => {
        process.stderr.write(`http: ${err instanceof Error ? err.message : String(err)}\n`);
        done(0, false);
      });
      return true;
    },
    ready: () => Promise.resolve(),
    close() {},
  };
}

const sender = transport === 'http' ? httpSender() : grpcSender();
const requestLimit = Math.min(maxRequests, sender.capacity);
const latencies = new Float64Array(maxRequests);
let sent = 0;
let acked = 0;
let failed = 0;
let pointsAcked = 0;
let inFlight = 0;
let lastAck = Date.now();
let wake: (() => void) | undefined;

function issue(k: number, scheduledAt: number): boolean {
  inFlight++;
  sent++;
  return sender.send(k, (accepted, ok) => {
    latencies[acked] = performance.now() - scheduledAt;
    inFlight--;
    acked++;
    pointsAcked += accepted;
    if (!ok) failed++;
    lastAck = Date.now();
    const w = wake;
    wake = undefined;
    w?.();
  });
}

const waitForAck = () => new Promise<void>((r) => (wake = r));
const startedAt = Date.now();
const t0 = performance.now();
const deadline = t0 + seconds * 1000;

if (mode === 'closed') {
  while (performance.now() < deadline && sent < requestLimit) {
    if (inFlight >= window) {
      await waitForAck();
      continue;
    }
    if (!issue(sent, performance.now())) await sender.ready();
  }
} else {
  const perMs = rate / batch / 1000;
  const cap = window * 4;
  while (sent < requestLimit) {
    const now = performance.now();
    if (now >= deadline) break;
    const due = Math.min(requestLimit, Math.floor((now - t0) * perMs) + 1);
    let blocked = false;
    while (sent < due && inFlight < cap) {
      const scheduledAt = t0 + sent / perMs;
      if (!issue(sent, scheduledAt)) {
        blocked = true;
        break;
      }
    }
    if (blocked) await sender.ready();
    else if (inFlight >= cap) await waitForAck();
    else {
      const next = t0 + sent / perMs;
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, next - performance.now()))));
    }
  }
}
const drainBy = performance.now() + 60_000;
while (inFlight > 0 && performance.now() < drainBy) {
  await Promise.race([waitForAck(), new Promise((r) => setTimeout(r, 1000))]);
}
sender.close();

const done = Array.from(latencies.subarray(0, acked)).sort((a, b) => a - b);
const pct = (q: number): number =>
  done.length === 0 ? NaN : done[Math.min(done.length - 1, Math.floor(q * done.length))]!;
const result: LoadResult = {
  transport,
  mode,
  startedAt,
  endedAt: lastAck,
  requests: sent,
  acked,
  pointsAcked,
  failed: failed + (sent - acked),
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  maxMs: done.length === 0 ? NaN : done[done.length - 1]!,
};
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
