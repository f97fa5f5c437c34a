/**
 * Where a JSON text stops being JSON, for error messages: V8's SyntaxError gives a position for
 * some faults and none for others, so a small scanner (RFC 8259 grammar, iterative so a deeply
 * nested body cannot overflow the stack) finds the first offending character. It runs only on
 * text JSON.parse has already refused, never on the hot path.
 */

export interface JsonFault {
  /** Index (UTF-16 code units) of the first character that cannot be there. */
  readonly offset: number;
  /** What the grammar expected at that point. */
  readonly expected: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /[0-9a-fA-F]{4}/y;

/** The first syntax fault of `text`, or undefined when it is one well-formed JSON value. */
export function findJsonFault(text: string): JsonFault | undefined {
  const closers: string[] = [];
  let i = 0;
  // 'value': a value must come; 'first': a value or the closing ']' of an empty array;
  // 'key' / 'firstKey': a key (or '}' of an empty object); 'after': ',' or a closer or the end.
  let want: 'value' | 'first' | 'key' | 'firstKey' | 'after' = 'value';
  const fault = (expected: string): JsonFault => ({ offset: i, expected });
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  /** Scans the string opening at i; returns a fault or undefined with i after its quote. */
  const string = (): JsonFault | undefined => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fault('a control character to be escaped inside a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return { offset: i, expected: 'four hex digits after \\u' };
          i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) {
          return { offset: i, expected: 'an escape such as \\" \\\\ \\n or \\u00e9' };
        }
        i += 2;
        continue;
      }
      i++;
    }
    return fault('the closing quote of a string');
  };
  for (;;) {
    skipSpace();
    const c = text[i];
    if (want === 'after') {
      const closer = closers[closers.length - 1];
      if (closer === undefined) return i === text.length ? undefined : fault('the end of the body');
      if (c === ',') {
        i++;
        want = closer === ']' ? 'value' : 'key';
      } else if (c === closer) {
        i++;
        closers.pop();
      } else return fault(`',' or '${closer}'`);
      continue;
    }
    if (want === 'key' || want === 'firstKey') {
      if (c === '}' && want === 'firstKey') {
        i++;
        closers.pop();
        want = 'after';
        continue;
      }
      if (c !== '"')
        return fault(
          want === 'firstKey' ? "a key in double quotes or '}'" : 'a key in double quotes',
        );
      const bad = string();
      if (bad !== undefined) return bad;
      skipSpace();
      if (text[i] !== ':') return fault("':' after the key");
      i++;
      want = 'value';
      continue;
    }
    if (c === ']' && want === 'first') {
      i++;
      closers.pop();
      want = 'after';
      continue;
    }
    if (c === '[') {
      i++;
      closers.push(']');
      want = 'first';
      continue;
    }
    if (c === '{') {
      i++;
      closers.push('}');
      want = 'firstKey';
      continue;
    }
    want = 'after';
    if (c === '"') {
      const bad = string();
      if (bad !== undefined) return bad;
      continue;
    }
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
    if (literal !== undefined) {
      i += literal.length;
      continue;
    }
    NUMBER.lastIndex = i;
    if (c !== undefined && NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      continue;
    }
    return fault('a value (object, array, string, number, true, false or null)');
  }
}

/** `line L, column C (byte B)` of `offset` in `text`: lines and columns from 1, bytes in UTF-8. */
export function describePosition(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  const byte = Buffer.byteLength(text.slice(0, offset));
  return `line ${line}, column ${offset - lineStart + 1} (byte ${byte})`;
}

/** What stands at `offset`: the character JSON-quoted, or the end of the text. */
export function foundAt(text: string, offset: number, end = 'the end of the body'): string {
  const c = text.codePointAt(offset);
  return c === undefined ? end : JSON.stringify(String.fromCodePoint(c));
}

/** `JSON at line L, column C (byte B): expected X, found Y`, or undefined for valid JSON. */
export function jsonFaultMessage(text: string, end?: string): string | undefined {
  const f = findJsonFault(text);
  if (f === undefined) return undefined;
  return `${describePosition(text, f.offset)}: expected ${f.expected}, found ${foundAt(text, f.offset, end)}`;
}
