/** Influx line protocol `POST /api/v2/write` (ms precision): acknowledged by 204. */
import type { ChaosPoint } from '../points.js';
import { httpAnswer, post, type Sender } from './sender.js';

/** Points of metric `chaos.v` become lines of measurement `chaos`, field `v`, tag host. */
export function influxLine(p: ChaosPoint): string {
  const [measurement, field] = p.metric.split('.') as [string, string];
  return `${measurement},host=${p.device} ${field}=${p.value} ${p.time}`;
}

export function influxSender(baseUrl: string): Sender {
  return {
    async send(points: readonly ChaosPoint[]) {
      const res = await post(
        `${baseUrl}/api/v2/write?org=chaos&bucket=chaos&precision=ms`,
        points.map(influxLine).join('\n'),
        { 'content-type': 'text/plain' },
      );
      await httpAnswer(res, 'influx');
      if (res.status !== 204) throw new Error(`influx: HTTP ${res.status}, expected 204`);
    },
    close: () => Promise.resolve(),
  };
}
