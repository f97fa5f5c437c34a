/**
 * The chaos run's points: each protocol's client sends a numbered sequence, and a point's
 * identity (device, metric, time) and value follow from its number alone, so a retried batch
 * carries exactly the same points (idempotent in the store) and the acknowledged set of a
 * protocol is the prefix `[0, acked)` of its sequence.
 */
export const PROTOCOLS = ['http', 'grpc', 'influx', 'remote_write', 'mqtt'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Event time of every sequence's first point (1 s apart per device). */
export const BASE_TIME = Date.UTC(2026, 0, 1);
export const STEP_MS = 1000;
/** Devices each protocol spreads its sequence over, round-robin. */
export const DEVICES_PER_PROTOCOL = 4;

export interface ChaosPoint {
  readonly seq: number;
  readonly device: string;
  readonly metric: string;
  readonly time: number;
  readonly value: number;
}

const shortName: Record<Protocol, string> = {
  http: 'http',
  grpc: 'grpc',
  influx: 'influx',
  remote_write: 'rw',
  mqtt: 'mqtt',
};

/** The stored metric name: Influx names it `<measurement>.<field>`. */
export function metricOf(protocol: Protocol): string {
  return protocol === 'influx' ? 'chaos.v' : 'v';
}

export function deviceOf(run: string, protocol: Protocol, index: number): string {
  return `${run}-${shortName[protocol]}-${index}`;
}

export function pointAt(run: string, protocol: Protocol, seq: number): ChaosPoint {
  const index = seq % DEVICES_PER_PROTOCOL;
  const slot = Math.floor(seq / DEVICES_PER_PROTOCOL);
  return {
    seq,
    device: deviceOf(run, protocol, index),
    metric: metricOf(protocol),
    time: BASE_TIME + slot * STEP_MS,
    // Exact in binary and in every text encoding on the way (JSON, line protocol, COPY text).
    value: seq + 0.25,
  };
}

/** Points `[from, from + count)` of a protocol's sequence. */
export function batchAt(
  run: string,
  protocol: Protocol,
  from: number,
  count: number,
): ChaosPoint[] {
  return Array.from({ length: count }, (_, i) => pointAt(run, protocol, from + i));
}

/** How many of the first `acked` sequence numbers fall on device `index`. */
export function ackedOnDevice(acked: number, index: number): number {
  return Math.floor(acked / DEVICES_PER_PROTOCOL) + (index < acked % DEVICES_PER_PROTOCOL ? 1 : 0);
}
