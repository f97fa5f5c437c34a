/**
 * Event times in CSV cells. Accepted: ISO-8601 / RFC 3339 (`2014-04-01T00:00:00Z`), the
 * space-separated form used by NAB and most exports (`2014-04-01 00:00:00[.ffffff]`, read as UTC
 * unless an offset is given), and plain numbers as Unix epoch: seconds when below 1e11,
 * milliseconds otherwise. Returns NaN when the cell is none of these.
 */
export function parseTimeCell(cell: string): number {
  const text = cell.trim();
  if (text === '') return Number.NaN;
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
      text,
    );
  if (m === null) return Number.NaN;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s, frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  // Date.UTC rolls over impossible dates (Feb 30); reject them instead of guessing.
  const check = new Date(Date.UTC(+y!, +mo! - 1, +d!));
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d!) return Number.NaN;
  return ms;
}
