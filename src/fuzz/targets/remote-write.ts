/**
 * Prometheus remote-write bodies: a structured WriteRequest (labels and samples with odd names,
 * stale markers, NaN, int64 edge timestamps) compressed with snappy, then faults at either layer:
 * protobuf faults before compressing, or a snappy body with a lying length preamble, bad copy
 * offsets, truncation and byte flips. Decoded and mapped as routes.ts does, default limits.
 */
import { compressSync } from 'snappy';
import {
  decodeWriteRequest,
  decompress,
  defaultDecodeLimits,
} from '../../ingest/remote-write/decode.js';
import {
  defaultLabelMapping,
  mapWriteRequest,
  staleMarker,
} from '../../ingest/remote-write/mapping.js';
import { mutateBytes } from '../mutate.js';
import {
  chance,
  count,
  double,
  oddString,
  pick,
  randomBytes,
  timestampMs,
  type Rng,
} from '../random.js';
import type { Outcome, Target } from '../target.js';
import { FIXED64, VARINT, varintBytes, WireWriter } from '../wire-writer.js';

const LIMITS = { ...defaultDecodeLimits, maxDecompressedBytes: 4 * 1024 * 1024 };

const LABEL_NAMES = ['__name__', 'instance', 'job', 'le', 'quantile', 'device', '__proto__'];

function label(rng: Rng, faults: boolean): Buffer {
  const w = new WireWriter(rng);
  const name = chance(rng, 0.7) ? pick(rng, LABEL_NAMES) : oddString(rng);
  const value = chance(rng, 0.6)
    ? pick(rng, ['up', 'node_cpu_seconds_total', 'host:9100', 'pump-1'])
    : oddString(rng);
  w.string(1, name, faults).string(2, value, faults);
  if (faults && chance(rng, 0.1)) w.noise();
  return w.bytes();
}

function sample(rng: Rng, faults: boolean): Buffer {
  const w = new WireWriter(rng);
  const value = chance(rng, 0.05) ? staleMarker() : double(rng);
  const ts = chance(rng, 0.9)
    ? BigInt(Math.max(0, Math.trunc(timestampMs(rng))))
    : pick(rng, [-1n, 0n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n]);
  w.tag(1, FIXED64).double(value).tag(2, VARINT).varint(ts);
  if (faults && chance(rng, 0.1)) w.noise();
  return w.bytes();
}

function writeRequest(rng: Rng): Buffer {
  const w = new WireWriter(rng);
  const faults = chance(rng, 0.2);
  const series = 1 + count(rng, 4, 200);
  for (let s = 0; s < series; s++) {
    const ts = new WireWriter(rng);
    ts.delimited(
      1,
      new WireWriter(rng).string(1, '__name__', false).string(2, `m${s}`, false).bytes(),
      false,
    );
    const labels = count(rng, 3, 200);
    for (let i = 0; i < labels; i++) ts.delimited(1, label(rng, faults), faults);
    const samples = chance(rng, 0.95) ? 1 + count(rng, 3) : 0;
    for (let i = 0; i < samples; i++) ts.delimited(2, sample(rng, faults), faults);
    if (faults && chance(rng, 0.2)) ts.noise();
    w.delimited(1, ts.bytes(), faults);
  }
  if (chance(rng, 0.1)) w.delimited(3, randomBytes(rng, rng.int(30)), false); // metadata
  return w.bytes();
}

/** A snappy block written by hand, with literals and copies whose offsets may point nowhere. */
function handSnappy(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  let produced = 0;
  const ops = 1 + rng.int(6);
  for (let i = 0; i < ops; i++) {
    if (chance(rng, 0.5) || produced === 0) {
      const literal = randomBytes(rng, 1 + rng.int(60));
      parts.push(Buffer.from([(literal.length - 1) << 2]), literal);
      produced += literal.length;
    } else {
      // Copy with a 2-byte offset: length 1–64, offset possibly past what was produced.
      const length = 1 + rng.int(64);
      const offset = chance(rng, 0.5) ? 1 + rng.int(produced) : rng.int(65_536);
      parts.push(Buffer.from([((length - 1) << 2) | 2, offset & 0xff, offset >> 8]));
      produced += length;
    }
  }
  const declared = chance(rng, 0.6)
    ? produced
    : pick(rng, [0, produced + 1, produced - 1, 2 ** 31]);
  return Buffer.concat([varintBytes(Math.max(0, declared)), ...parts]);
}

function body(rng: Rng): Buffer {
  const r = rng.next();
  if (r < 0.05) return randomBytes(rng, rng.int(200));
  if (r < 0.12) return handSnappy(rng);
  const proto = writeRequest(rng);
  if (r < 0.3) return compressSync(mutateBytes(rng, proto));
  const compressed = compressSync(proto);
  if (r < 0.75) return compressed;
  if (r < 0.85) {
    // A preamble that lies about the decompressed length.
    const declared = pick(rng, [
      0,
      proto.length + 1,
      Math.max(0, proto.length - 1),
      2 ** 32 - 1,
      LIMITS.maxDecompressedBytes + 1,
    ]);
    const preamble = varintBytes(proto.length).length;
    return Buffer.concat([varintBytes(declared), compressed.subarray(preamble)]);
  }
  return mutateBytes(rng, compressed);
}

export const remoteWrite: Target = {
  name: 'remote-write',
  parser: 'src/ingest/remote-write/decode.ts + mapping.ts',
  generate: body,
  async run(input): Promise<Outcome> {
    const decoded = decodeWriteRequest(await decompress(input, LIMITS), LIMITS);
    const mapped = mapWriteRequest(decoded, defaultLabelMapping);
    const carried = mapped.samplesPerPoint.reduce((a, b) => a + b, 0);
    const metrics = mapped.points.reduce((a, p) => a + Object.keys(p.metrics).length, 0);
    const broken =
      carried === metrics
        ? undefined
        : `${carried} samples mapped, ${metrics} metrics in the points`;
    return {
      points: mapped.points,
      refused: mapped.errors.length,
      ...(broken === undefined ? {} : { broken }),
    };
  },
};
