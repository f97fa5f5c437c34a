/**
 * Display formats: times as `YYYY-MM-DD HH:MM:SS` (24-hour) in the chosen zone (time-zone.ts),
 * numbers to 4 digits.
 */
import { parseZoned, partsOf } from './time-zone.js';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatTime(ms: number): string {
  const p = partsOf(ms);
  return (
    `${p.year}-${pad(p.month)}-${pad(p.day)} ` + `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`
  );
}

/** A chart tick: as much of the time as the tick spacing needs, never 12-hour. */
export function formatTick(ms: number, stepMs: number, withDate: boolean): string {
  const p = partsOf(ms);
  const date = `${pad(p.month)}-${pad(p.day)}`;
  const clock =
    stepMs < 60_000
      ? `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`
      : `${pad(p.hour)}:${pad(p.minute)}`;
  if (stepMs >= 86_400_000) return `${p.year}-${date}`;
  return withDate ? `${date} ${clock}` : clock;
}

/** A time field's value: `YYYY-MM-DD HH:MM` in the chosen zone. */
export function toLocalInput(ms: number): string {
  return formatTime(ms).slice(0, 16);
}

/** A time field's `YYYY-MM-DD HH:MM[:SS]`, read in the chosen zone; undefined when empty or not a time. */
export function fromLocalInput(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$/.test(t)) return undefined;
  const ms = parseZoned(t.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : undefined;
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function formatPercent(share: number): string {
  return `${Math.round(share * 100)} %`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const hours = Math.round(m / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} d`;
}

/** How long ago `ms` was, for staleness: `12 s ago`, `4 min ago`. */
export function formatAgo(ms: number, now: number): string {
  const age = Math.max(0, now - ms);
  return age < 1000 ? 'just now' : `${formatDuration(age)} ago`;
}
