/**
 * The built-in demo source: simulated pumps (current, pressure, flow, temperature) with a daily
 * load cycle and noise, streaming in real time into the engine, with an injected anomaly about
 * once a minute — so a newcomer sees events through the API within a minute of `npm start`.
 *
 * Every value is a pure function of (seed, device, timestamp): a restart, or the history
 * back-filled at start to warm the detectors up, sends exactly the same points again, which the
 * store's idempotency turns into no-ops.
 */
import { BackpressureError, type Engine, type IngestPoint } from '../../engine/engine.js';

export interface DemoOptions {
  readonly engine: Pick<Engine, 'ingest'>;
  /** Simulated devices `pump-1` … (default 4). */
  readonly devices?: number;
  /** One point per device every this many ms (default 1000). */
  readonly intervalMs?: number;
  /** An anomaly on one device (in turn) every this many ms (default 60 s). */
  readonly anomalyEveryMs?: number;
  /** History sent at start, ms before now, so the detectors are warm (default 30 min). */
  readonly backfillMs?: number;
  readonly seed?: number;
  readonly clock?: () => number;
  readonly log?: (message: string) => void;
}

export interface DemoSource {
  /** Points sent so far (accepted by the engine). */
  readonly sent: () => number;
  stop(): Promise<void>;
}

type AnomalyKind = 'current-spike' | 'pressure-drop' | 'overheat';
const KINDS: readonly AnomalyKind[] = ['current-spike', 'pressure-drop', 'overheat'];
const DAY_MS = 86_400_000;

/** A uniform number in [0, 1) from integers (a 32-bit mix; good enough for simulation). */
function hash01(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x85ebca6b);
    h = Math.imul(h ^ Math.floor(part / 0x1_0000_0000), 0xc2b2ae35);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  return ((h ^ (h >>> 16)) >>> 0) / 0x1_0000_0000;
}

/** Standard normal noise from two uniforms (Box–Muller). */
function gauss(...parts: number[]): number {
  const u = Math.max(hash01(...parts, 1), 1e-12);
  const v = hash01(...parts, 2);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The anomaly (if any) of `device` at time `t`: seconds 20.. of every period, devices in turn. */
export function anomalyAt(
  t: number,
  device: number,
  devices: number,
  everyMs: number,
): AnomalyKind | undefined {
  const period = Math.floor(t / everyMs);
  if (period % devices !== device) return undefined;
  const kind = KINDS[Math.floor(period / devices) % KINDS.length] ?? 'current-spike';
  const offset = t - period * everyMs;
  const start = Math.min(20_000, everyMs / 3);
  const length = kind === 'current-spike' ? 4_000 : kind === 'pressure-drop' ? 12_000 : 10_000;
  return offset >= start && offset < start + length ? kind : undefined;
}

/** One point of device `index` at time `t`. */
export function demoPoint(
  seed: number,
  index: number,
  t: number,
  devices: number,
  anomalyEveryMs: number,
): IngestPoint {
  const load = 0.7 + 0.25 * Math.sin((2 * Math.PI * (t % DAY_MS)) / DAY_MS - Math.PI / 2);
  const n = (metric: number) => gauss(seed, index, metric, t);
  let current = 12 * load + 0.15 * n(1);
  let pressure = 4 + 1.5 * load + 0.04 * n(2);
  let flow = 50 * load + 0.6 * n(3);
  let temperature = 40 + 12 * load + 0.2 * n(4);
  switch (anomalyAt(t, index, devices, anomalyEveryMs)) {
    case 'current-spike':
      current *= 1.9;
      break;
    case 'pressure-drop':
      pressure *= 0.55;
      flow *= 0.6;
      break;
    case 'overheat':
      temperature += 18;
      break;
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    timestamp: t,
    device_id: `pump-${index + 1}`,
    metrics: {
      current: round(current),
      pressure: round(pressure),
      flow: round(flow),
      temperature: round(temperature),
    },
    tags: { site: 'demo', kind: 'pump' },
  };
}

/** Start streaming: back-fill the warm-up history, then one point per device per interval. */
export function startDemo(options: DemoOptions): DemoSource {
  const devices = options.devices ?? 4;
  const intervalMs = options.intervalMs ?? 1000;
  const anomalyEveryMs = options.anomalyEveryMs ?? 60_000;
  const seed = options.seed ?? 42;
  const clock = options.clock ?? Date.now;
  const log = options.log ?? (() => undefined);
  const { engine } = options;

  let sent = 0;
  let stopped = false;
  let next = Math.floor((clock() - (options.backfillMs ?? 30 * 60_000)) / intervalMs) * intervalMs;
  let running: Promise<void> = Promise.resolve();

  /** Send every tick from `next` up to now, in batches; a full engine just waits for the next round. */
  async function catchUp(): Promise<void> {
    const now = clock();
    while (!stopped && next <= now) {
      const batch: IngestPoint[] = [];
      for (; next <= now && batch.length < 2_000; next += intervalMs) {
        for (let d = 0; d < devices; d++)
          batch.push(demoPoint(seed, d, next, devices, anomalyEveryMs));
      }
      try {
        const result = await engine.ingest(batch, 'demo');
        sent += result.accepted;
        if (result.errors.length > 0) log(`demo: ${result.errors.length} points rejected`);
      } catch (err) {
        if (err instanceof BackpressureError) {
          next = batch[0]?.timestamp ?? next;
          return;
        }
        if (stopped) return;
        log(`demo: ingest failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
    }
  }

  const tick = () => {
    running = running.then(catchUp);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  return {
    sent: () => sent,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
