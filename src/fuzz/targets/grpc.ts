/**
 * gRPC Ingest/Detect request bytes (proto/vigil/v1/ingest.proto), decoded by the hand-written
 * wire.ts: structured DataPoints with wire faults (lengths past the end, 11-byte varints, wrong
 * wire types, invalid UTF-8, unknown fields), then byte mutations.
 */
import { decodeDetectRequest, decodeIngestRequest } from '../../ingest/grpc/wire.js';
import { finish } from '../mutate.js';
import { chance, count, double, oddString, pick, timestampMs, type Rng } from '../random.js';
import type { Target } from '../target.js';
import { FIXED64, LENGTH, VARINT, WireWriter, wrongType } from '../wire-writer.js';

/** The server's defaults (src/ingest/grpc/server.ts). */
const LIMITS = { maxMetricsPerPoint: 1000, maxPointsPerMessage: 10_000 };

function timestampField(rng: Rng): number | bigint {
  if (chance(rng, 0.9)) return Math.max(0, Math.trunc(timestampMs(rng)));
  return pick(rng, [0, -1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 53n + 1n, 1]);
}

function dataPoint(rng: Rng): Buffer {
  const w = new WireWriter(rng);
  const faults = chance(rng, 0.3);
  const fields: (() => void)[] = [
    () => w.tag(1, VARINT).varint(timestampField(rng)),
    () => w.string(2, oddString(rng), faults),
  ];
  const metrics = chance(rng, 0.99) ? 1 + count(rng, 3) : 1001;
  for (let i = 0; i < metrics; i++) {
    fields.push(() => {
      const entry = new WireWriter(rng);
      if (!faults || chance(rng, 0.9))
        entry.string(1, metrics > 100 ? `m${i}` : oddString(rng), faults);
      if (!faults || chance(rng, 0.9)) entry.tag(2, FIXED64).double(double(rng));
      if (faults && chance(rng, 0.1)) entry.noise();
      w.delimited(3, entry.bytes(), faults);
    });
  }
  const tags = count(rng, 2);
  for (let i = 0; i < tags; i++) {
    fields.push(() => {
      const entry = new WireWriter(rng);
      entry.string(1, oddString(rng), faults).string(2, oddString(rng), faults);
      w.delimited(4, entry.bytes(), faults);
    });
  }
  if (chance(rng, 0.5)) fields.push(() => w.tag(5, VARINT).varint(rng.nextUint32()));
  if (faults) {
    fields.push(() => w.noise());
    if (chance(rng, 0.3)) fields.push(() => wrongType(w, rng, 1 + rng.int(5)));
    // Later duplicates win: repeat a field now and then.
    if (chance(rng, 0.3)) fields.push(fields[rng.int(fields.length)]!);
  }
  // Fields in any order, as protobuf allows.
  if (chance(rng, 0.2)) fields.sort(() => rng.next() - 0.5);
  for (const write of fields) write();
  return w.bytes();
}

function ingestRequest(rng: Rng): Buffer {
  const w = new WireWriter(rng);
  const faults = chance(rng, 0.2);
  if (chance(rng, 0.4)) {
    w.delimited(1, dataPoint(rng), faults);
  } else {
    const batch = new WireWriter(rng);
    const n = count(rng, 5, 300);
    for (let i = 0; i < n; i++) batch.delimited(1, dataPoint(rng), faults);
    if (chance(rng, 0.5))
      batch.tag(2, VARINT).varint(chance(rng, 0.9) ? rng.nextUint32() : 2n ** 64n - 1n);
    w.delimited(2, batch.bytes(), faults);
  }
  if (faults && chance(rng, 0.3)) w.noise();
  if (chance(rng, 0.05)) w.tag(pick(rng, [1, 2]), LENGTH).varint(0);
  return w.bytes();
}

function detectRequest(rng: Rng): Buffer {
  const w = new WireWriter(rng);
  const faults = chance(rng, 0.2);
  const n = count(rng, 5, 300);
  for (let i = 0; i < n; i++) w.delimited(1, dataPoint(rng), faults);
  if (faults && chance(rng, 0.3)) w.noise();
  return w.bytes();
}

export const grpcIngest: Target = {
  name: 'grpc-ingest',
  parser: 'src/ingest/grpc/wire.ts (decodeIngestRequest)',
  generate: (rng) => finish(rng, () => ingestRequest(rng)),
  run(input) {
    const pending = decodeIngestRequest(input, LIMITS);
    if (pending.invalid !== undefined) return { points: [], refused: 1 };
    return { points: pending.points, refused: pending.errors.length };
  },
};

export const grpcDetect: Target = {
  name: 'grpc-detect',
  parser: 'src/ingest/grpc/wire.ts (decodeDetectRequest)',
  generate: (rng) => finish(rng, () => detectRequest(rng)),
  run(input) {
    const decoded = decodeDetectRequest(input, LIMITS);
    if (decoded.error !== undefined) return { points: [], refused: 1 };
    return { points: decoded.points, refused: 0 };
  },
};
