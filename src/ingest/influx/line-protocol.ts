/**
 * The InfluxDB line protocol (one text format for v1 and v2), parsed by hand: the npm packages
 * write lines, none parses them with the per-line errors a partial write needs. Grammar, escapes
 * and field types: docs/integrations-influx-mqtt.md. Never throws: every problem becomes an
 * error naming the line, the element and why.
 */

import { quoteInput } from '../../data/quote.js';

export type FieldValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'unsigned'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'string'; readonly value: string };

export interface LineRecord {
  /** 1-based line of the body where the record starts. */
  readonly line: number;
  readonly measurement: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly fields: ReadonlyArray<readonly [string, FieldValue]>;
  /** The timestamp as written (in the request's precision), or undefined when absent. */
  readonly timestamp: bigint | undefined;
}

export interface LineError {
  readonly line: number;
  /** The element that failed: `measurement`, `tag`, `field "temp"`, `timestamp`, `line`. */
  readonly what: string;
  readonly why: string;
}

/** Per-line bounds, checked while parsing (docs/integrations-influx-mqtt.md, "Limits"). */
export interface LineLimits {
  /** Longest line, UTF-8 bytes (up to its newline). */
  readonly maxLineBytes: number;
  /** Most fields in one line. */
  readonly maxFieldsPerLine: number;
  /** Longest measurement, tag key, tag value or field key, characters. */
  readonly maxNameLength: number;
}

/**
 * The engine takes names of at most 200 characters; a line of 256 KiB holds InfluxDB's 64 KiB
 * string value with room to spare; Telegraf's widest plugins write a few hundred fields.
 */
export const defaultLineLimits: LineLimits = {
  maxLineBytes: 256 * 1024,
  maxFieldsPerLine: 1000,
  maxNameLength: 200,
};

export interface ParsedLines {
  readonly records: LineRecord[];
  readonly errors: LineError[];
  /** Non-blank, non-comment lines seen (records + errors). */
  readonly total: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const INTEGER = /^-?\d+$/;
const UNSIGNED = /^\d+$/;
const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);
/** InfluxDB's own limit for a string field value. */
const MAX_STRING = 64 * 1024;

class LineFailure {
  constructor(
    readonly what: string,
    readonly why: string,
  ) {}
}

function show(text: string): string {
  return quoteInput(text, 40);
}

/** A name within `limits.maxNameLength`, or the failure naming the element and the limit. */
function named(name: string, what: string, limits: LineLimits): string {
  if (name.length > limits.maxNameLength) {
    throw new LineFailure(
      what,
      `${quoteInput(name, 60)} is longer than ${limits.maxNameLength} characters (influx.max_name_length)`,
    );
  }
  return name;
}

/** A cursor over the body; `line` follows newlines consumed inside string values. */
class Cursor {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  /** At the end of the current line (newline, CR before newline, or end of text). */
  atLineEnd(): boolean {
    const c = this.peek();
    return c === '' || c === '\n' || (c === '\r' && (this.text[this.pos + 1] ?? '\n') === '\n');
  }
  /** Move past the rest of the line and its newline. */
  skipLine(): void {
    const next = this.text.indexOf('\n', this.pos);
    this.pos = next === -1 ? this.text.length : next + 1;
    this.line++;
  }

  /**
   * An escaped token up to (not including) an unescaped stop character or the line's end.
   * `escapable`: the characters a backslash escapes here (besides the backslash itself).
   */
  token(stops: string, escapable: string): string {
    let out = '';
    while (!this.atLineEnd()) {
      const c = this.peek();
      if (c === '\\') {
        const next = this.text[this.pos + 1] ?? '';
        if (next === '\\' || (next !== '' && escapable.includes(next))) {
          out += next;
          this.pos += 2;
          continue;
        }
        out += c;
        this.pos++;
        continue;
      }
      if (stops.includes(c)) break;
      out += c;
      this.pos++;
    }
    return out;
  }

  /** A double-quoted string field value; the cursor is on the opening quote. */
  quoted(field: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      if (this.done) throw new LineFailure(`field ${show(field)}`, 'unterminated string value');
      const c = this.peek();
      if (c === '\\') {
        const next = this.text[this.pos + 1] ?? '';
        if (next === '"' || next === '\\') {
          out += next;
          this.pos += 2;
          continue;
        }
      }
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\n') this.line++;
      out += c;
      this.pos++;
      if (out.length > MAX_STRING) {
        throw new LineFailure(`field ${show(field)}`, `string value longer than ${MAX_STRING}`);
      }
    }
  }
}

function fieldValue(raw: string, field: string): FieldValue {
  const what = `field ${show(field)}`;
  if (raw === '') throw new LineFailure(what, 'missing value');
  const last = raw[raw.length - 1];
  if (last === 'i' && INTEGER.test(raw.slice(0, -1))) {
    const n = BigInt(raw.slice(0, -1));
    if (n < INT64_MIN || n > INT64_MAX) throw new LineFailure(what, `integer ${raw} out of int64`);
    return { kind: 'integer', value: Number(n) };
  }
  if (last === 'u' && UNSIGNED.test(raw.slice(0, -1))) {
    const n = BigInt(raw.slice(0, -1));
    if (n > UINT64_MAX) throw new LineFailure(what, `unsigned ${raw} out of uint64`);
    return { kind: 'unsigned', value: Number(n) };
  }
  if (TRUE.has(raw)) return { kind: 'boolean', value: true };
  if (FALSE.has(raw)) return { kind: 'boolean', value: false };
  if (FLOAT.test(raw)) {
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new LineFailure(what, `float ${raw} out of range`);
    return { kind: 'float', value };
  }
  throw new LineFailure(
    what,
    `cannot read ${show(raw)} as a value (float 1.5, integer 1i, unsigned 1u, boolean t/f, "string")`,
  );
}

function parseRecord(c: Cursor, line: number, limits: LineLimits): LineRecord {
  const measurement = named(c.token(', ', ', '), 'measurement', limits);
  if (measurement === '') throw new LineFailure('measurement', 'missing measurement');
  const tags: [string, string][] = [];
  while (c.peek() === ',') {
    c.pos++;
    const key = named(c.token(',= ', ',= '), 'tag', limits);
    if (key === '') throw new LineFailure('tag', 'missing tag key');
    if (c.peek() !== '=') throw new LineFailure(`tag ${show(key)}`, 'missing "=" after tag key');
    c.pos++;
    const value = named(c.token(',= ', ',= '), `tag ${show(key)}`, limits);
    if (value === '') throw new LineFailure(`tag ${show(key)}`, 'missing tag value');
    if (c.peek() === '=') throw new LineFailure(`tag ${show(key)}`, 'unescaped "=" in tag value');
    tags.push([key, value]);
  }
  if (c.peek() !== ' ' && c.peek() !== '\t') {
    throw new LineFailure('line', 'missing fields (expected a space, then field=value)');
  }
  while (c.peek() === ' ' || c.peek() === '\t') c.pos++;

  const fields: [string, FieldValue][] = [];
  for (;;) {
    if (fields.length >= limits.maxFieldsPerLine) {
      throw new LineFailure(
        'line',
        `more than ${limits.maxFieldsPerLine} fields (influx.max_fields_per_line)`,
      );
    }
    const key = named(c.token(',= ', ',= '), 'field', limits);
    if (key === '') throw new LineFailure('field', 'missing field key');
    if (c.peek() !== '=') {
      throw new LineFailure(`field ${show(key)}`, 'missing "=" after field key');
    }
    c.pos++;
    if (c.peek() === '"') {
      fields.push([key, { kind: 'string', value: c.quoted(key) }]);
    } else {
      let raw = '';
      while (!c.atLineEnd() && c.peek() !== ',' && c.peek() !== ' ' && c.peek() !== '\t') {
        raw += c.peek();
        c.pos++;
      }
      fields.push([key, fieldValue(raw, key)]);
    }
    if (c.peek() !== ',') break;
    c.pos++;
  }

  let timestamp: bigint | undefined;
  if (c.peek() === ' ' || c.peek() === '\t') {
    while (c.peek() === ' ' || c.peek() === '\t') c.pos++;
    let raw = '';
    while (!c.atLineEnd() && c.peek() !== ' ' && c.peek() !== '\t') {
      raw += c.peek();
      c.pos++;
    }
    while (c.peek() === ' ' || c.peek() === '\t') c.pos++;
    if (raw !== '') {
      if (!INTEGER.test(raw)) {
        throw new LineFailure('timestamp', `${show(raw)} is not an integer`);
      }
      timestamp = BigInt(raw);
      if (timestamp < INT64_MIN || timestamp > INT64_MAX) {
        throw new LineFailure('timestamp', `${raw} out of int64`);
      }
    }
  }
  if (!c.atLineEnd()) {
    const rest = c.text.slice(c.pos, c.pos + 20).split(/\r?\n/)[0] ?? '';
    throw new LineFailure('line', `unexpected ${show(rest)} after the timestamp`);
  }
  return { line, measurement, tags, fields, timestamp };
}

/** UTF-8 bytes from `start` to the next newline, when over `max` (else 0): cheap for short lines. */
function overlongLine(text: string, start: number, max: number): number {
  const newline = text.indexOf('\n', start);
  const end = newline === -1 ? text.length : newline;
  // A UTF-16 unit is at most 3 UTF-8 bytes: most lines need no count.
  if ((end - start) * 3 <= max) return 0;
  const bytes = Buffer.byteLength(text.slice(start, end));
  return bytes > max ? bytes : 0;
}

/** Parse a whole request body. Never throws. */
export function parseLineProtocol(text: string, lineLimits: Partial<LineLimits> = {}): ParsedLines {
  const limits: LineLimits = { ...defaultLineLimits, ...lineLimits };
  const records: LineRecord[] = [];
  const errors: LineError[] = [];
  const c = new Cursor(text);
  while (!c.done) {
    while (c.peek() === ' ' || c.peek() === '\t') c.pos++;
    if (c.atLineEnd() || c.peek() === '#') {
      c.skipLine();
      continue;
    }
    const line = c.line;
    const bytes = overlongLine(text, c.pos, limits.maxLineBytes);
    if (bytes > 0) {
      errors.push({
        line,
        what: 'line',
        why: `${bytes} bytes, the limit is ${limits.maxLineBytes} (influx.max_line_bytes)`,
      });
      c.skipLine();
      continue;
    }
    try {
      records.push(parseRecord(c, line, limits));
      c.skipLine();
    } catch (err) {
      if (!(err instanceof LineFailure)) throw err;
      errors.push({ line, what: err.what, why: err.why });
      // A failure inside a multi-line string has already moved past newlines: go on from there.
      c.skipLine();
    }
  }
  return { records, errors, total: records.length + errors.length };
}

/** Precisions of the v2 API (`ns us ms s`) and the v1 API (`n u ms s m h`), ms per unit. */
const PRECISIONS: Readonly<Record<string, { readonly num: bigint; readonly den: bigint }>> = {
  ns: { num: 1n, den: 1_000_000n },
  n: { num: 1n, den: 1_000_000n },
  us: { num: 1n, den: 1_000n },
  u: { num: 1n, den: 1_000n },
  µ: { num: 1n, den: 1_000n },
  ms: { num: 1n, den: 1n },
  s: { num: 1_000n, den: 1n },
  m: { num: 60_000n, den: 1n },
  h: { num: 3_600_000n, den: 1n },
};

export const V2_PRECISIONS = ['ns', 'us', 'ms', 's'] as const;
export const V1_PRECISIONS = ['n', 'ns', 'u', 'us', 'µ', 'ms', 's', 'm', 'h'] as const;

/** A timestamp in `precision` units → ms since the epoch, rounded down. */
export function toMillis(timestamp: bigint, precision: string): number {
  const p = PRECISIONS[precision];
  if (p === undefined) throw new Error(`unknown precision ${precision}`);
  const scaled = timestamp * p.num;
  // Floor division (BigInt division truncates toward zero).
  const q = scaled / p.den;
  return Number(scaled < 0n && q * p.den !== scaled ? q - 1n : q);
}
