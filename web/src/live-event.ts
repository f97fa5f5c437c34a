/** A live-stream event (series `device/metric`, strategy `name@version`) as a stored event. */
import type { LiveEvent, VigilEvent } from './types.js';

/** The longest known device that the series starts with (devices may contain `/`). */
export function fromLive(e: LiveEvent, devices: readonly string[]): VigilEvent {
  let device = devices
    .filter((d) => e.series === d || e.series.startsWith(`${d}/`))
    .sort((a, b) => b.length - a.length)[0];
  if (device === undefined) {
    const slash = e.series.indexOf('/');
    device = slash < 0 ? e.series : e.series.slice(0, slash);
  }
  const metric = e.series === device ? null : e.series.slice(device.length + 1);
  const at = e.strategy.lastIndexOf('@');
  return {
    id: e.id,
    device,
    metric,
    strategy: at < 0 ? e.strategy : e.strategy.slice(0, at),
    strategy_version: at < 0 ? 0 : Number(e.strategy.slice(at + 1)),
    start: e.start,
    end: e.end,
    peak: e.peak,
    level: e.level,
    points: e.points,
    explanation: e.explanation,
  };
}
