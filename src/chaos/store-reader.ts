/**
 * Reading back what the service stored, through its own query API (the same for PostgreSQL and
 * the embedded store): raw points of a series in a range (paged), and a device's events.
 */
import { sleep } from '../timing/sleep.js';

export interface RawPoints {
  readonly times: number[];
  readonly values: (number | null)[];
}

async function getJson<T>(url: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      const text = await res.text();
      if (res.status === 200) return JSON.parse(text) as T;
      if (attempt >= 20 || (res.status !== 503 && res.status !== 429)) {
        throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
      }
    } catch (err) {
      if (attempt >= 20) throw err;
    }
    await sleep(250);
  }
}

export async function rawPoints(
  baseUrl: string,
  device: string,
  metric: string,
  from: number,
  to: number,
): Promise<RawPoints> {
  const times: number[] = [];
  const values: (number | null)[] = [];
  for (let start = from; ;) {
    const q = new URLSearchParams({
      device,
      metric,
      from: String(start),
      to: String(to),
      limit: '100000',
    });
    const page = await getJson<RawPoints & { truncated: boolean }>(`${baseUrl}/v1/points?${q}`);
    times.push(...page.times);
    values.push(...page.values);
    if (!page.truncated || page.times.length === 0) return { times, values };
    start = page.times[page.times.length - 1]! + 1;
  }
}

/** The fields two runs of the same input must agree on (the explanation is left out). */
export interface StoredEvent {
  readonly id: string;
  readonly device: string;
  readonly metric: string | null;
  readonly start: number;
  readonly end: number | null;
  readonly level: string;
  readonly points: number;
  readonly peak: { readonly time: number; readonly score: number };
}

export async function deviceEvents(baseUrl: string, device: string): Promise<StoredEvent[]> {
  const q = new URLSearchParams({ device, limit: '10000', from: '0', to: '4102444800000' });
  const { events } = await getJson<{ events: StoredEvent[] }>(`${baseUrl}/v1/events?${q}`);
  return events
    .map((e) => ({
      id: e.id,
      device: e.device,
      metric: e.metric,
      start: e.start,
      end: e.end,
      level: e.level,
      points: e.points,
      peak: { time: e.peak.time, score: e.peak.score },
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
