/** Prometheus remote-write v1 (snappy + protobuf): acknowledged by 204. */
import { compressSync } from 'snappy';
import { encodeWriteRequest, type TimeSeries } from '../../ingest/remote-write/decode.js';
import type { ChaosPoint } from '../points.js';
import { httpAnswer, post, type Sender } from './sender.js';

/** One series per device: `{__name__=<metric>, instance=<device>}`. */
export function writeRequestBody(points: readonly ChaosPoint[]): Uint8Array {
  const series = new Map<
    string,
    { metric: string; samples: { value: number; timestamp: number }[] }
  >();
  for (const p of points) {
    const s = series.get(p.device) ?? { metric: p.metric, samples: [] };
    s.samples.push({ value: p.value, timestamp: p.time });
    series.set(p.device, s);
  }
  const timeseries: TimeSeries[] = [...series].map(([device, s]) => ({
    labels: [
      { name: '__name__', value: s.metric },
      { name: 'instance', value: device },
    ],
    samples: s.samples,
  }));
  return compressSync(Buffer.from(encodeWriteRequest({ timeseries })));
}

export function remoteWriteSender(baseUrl: string): Sender {
  return {
    async send(points: readonly ChaosPoint[]) {
      const res = await post(`${baseUrl}/api/v1/write`, writeRequestBody(points), {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      });
      await httpAnswer(res, 'remote_write');
    },
    close: () => Promise.resolve(),
  };
}
