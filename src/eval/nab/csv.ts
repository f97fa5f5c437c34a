/**
 * The two tiny text helpers the NAB files need. The corpus CSVs are plain machine-written tables
 * (no quoting, no embedded commas), so a hand split is exact and several times faster than a
 * general CSV parser on 365k rows.
 */

/** Lines of a text file without line terminators; a final empty line (trailing newline) is dropped. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  return lines;
}

/** Cell `col` (0-based) of a comma-separated line, or undefined past the last cell. */
export function cellAt(line: string, col: number): string | undefined {
  let start = 0;
  for (let c = 0; c < col; c++) {
    const comma = line.indexOf(',', start);
    if (comma < 0) return undefined;
    start = comma + 1;
  }
  const end = line.indexOf(',', start);
  return end < 0 ? line.slice(start) : line.slice(start, end);
}

/**
 * Milliseconds since the epoch for `YYYY-MM-DD HH:MM:SS[.ffffff]` (also `T` as separator), read as
 * UTC; NaN when the text does not have that shape. NAB timestamps carry no zone, and only their
 * order and equality matter to the scorer, so UTC keeps them free of local DST gaps.
 */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  if (s.length < 19) return Number.NaN;
  const sep = s.charCodeAt(10);
  if (
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 32 && sep !== 84) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return Number.NaN;
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  let ms = 0;
  if (s.length > 19) {
    // Only a fractional part may follow; it is kept to the millisecond.
    if (s.charCodeAt(19) !== 46 || s.length === 20) return Number.NaN;
    const frac = s.slice(20);
    if (!/^\d+$/.test(frac)) return Number.NaN;
    ms = Math.floor(Number(`0.${frac}`) * 1000);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The decimal number in `s[start, start + count)`, or NaN if any character is not a digit. */
function digits(s: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    n = n * 10 + c;
  }
  return n;
}
