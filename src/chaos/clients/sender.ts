/**
 * What every protocol client of the chaos run offers: send a batch and resolve only on the
 * protocol's acknowledgement. A failure the client should retry (server gone, backpressure,
 * PostgreSQL away) rejects with `Transient`; anything else is a finding and stops the run.
 */
import type { ChaosPoint } from '../points.js';

export class Transient extends Error {}

export interface Sender {
  send(points: readonly ChaosPoint[]): Promise<void>;
  close(): Promise<void>;
}

/** HTTP answers: 2xx acks; 429 and 5xx are retried; other statuses are findings. */
export async function httpAnswer(res: Response, what: string): Promise<string> {
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) return text;
  const message = `${what}: HTTP ${res.status} ${text.slice(0, 300)}`;
  if (res.status === 429 || res.status >= 500) throw new Transient(message);
  throw new Error(message);
}

/** fetch whose network errors (connection refused or reset by a kill) are transient. */
export async function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<Response> {
  try {
    return await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new Transient(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
