/** `POST /v1/points` (NDJSON): acknowledged by 200 with every point accepted. */
import type { ChaosPoint } from '../points.js';
import { httpAnswer, post, type Sender } from './sender.js';

export function httpSender(baseUrl: string): Sender {
  return {
    async send(points: readonly ChaosPoint[]) {
      const body = points
        .map((p) =>
          JSON.stringify({
            timestamp: p.time,
            device_id: p.device,
            metrics: { [p.metric]: p.value },
          }),
        )
        .join('\n');
      const res = await post(`${baseUrl}/v1/points`, body, {
        'content-type': 'application/x-ndjson',
      });
      const answer = JSON.parse(await httpAnswer(res, 'http')) as {
        accepted: number;
        errors: unknown[];
      };
      if (answer.accepted !== points.length || answer.errors.length > 0) {
        throw new Error(`http: partial answer ${JSON.stringify(answer).slice(0, 300)}`);
      }
    },
    close: () => Promise.resolve(),
  };
}
