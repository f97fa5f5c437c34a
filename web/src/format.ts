/** Display formats: times in the browser's zone as `YYYY-MM-DD HH:MM:SS`, numbers to 4 digits. */
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A value for `<input type="datetime-local">` (local time, minutes). */
export function toLocalInput(ms: number): string {
  return formatTime(ms).slice(0, 16).replace(' ', 'T');
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
