import type { z } from 'zod';

/**
 * Turning zod issues into the one-line messages users see: `<path>: expected …, found …`.
 * zod's own messages are written for developers ("Invalid input: expected number, received
 * string"); ours name the YAML path, say what is allowed and quote what was written.
 */

export type Issue = z.core.$ZodIssue;
export type RawIssue = z.core.$ZodRawIssue;
type Schema = z.core.$ZodType;

/**
 * Params of a custom issue whose message is already the whole sentence (it names what was
 * found itself), so the formatter appends nothing.
 */
export const COMPLETE = { vigil: 'complete' } as const;

/** `detector.params.members[1].params.alpha`; the document itself is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][\w-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

/** How a value that was written is quoted back to the user. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  // JSON quoting, but backslashes shown as written (regexes are full of them).
  if (typeof value === 'string') return JSON.stringify(value).replace(/\\\\/g, '\\');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Edit distance, for "did you mean" hints on misspelt keys and kinds. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The candidate closest to `word` if it is plausibly a typo of it. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** `; did you mean "x"?` when a candidate is close to what was written, else nothing. */
export function didYouMean(found: string, allowed: readonly string[]): string {
  const hint = closest(found, allowed);
  return hint ? `; did you mean "${hint}"?` : '';
}

interface DefView {
  readonly type: string;
  readonly shape?: Record<string, Schema>;
  readonly innerType?: Schema;
  readonly in?: Schema;
  readonly element?: Schema;
  readonly valueType?: Schema;
  readonly getter?: () => Schema;
}

/** The keys an object schema allows at `path`, or undefined where that cannot be known. */
export function knownKeys(schema: Schema, path: readonly PropertyKey[]): string[] | undefined {
  let node: Schema | undefined = schema;
  let i = 0;
  while (node) {
    const def = node._zod.def as DefView;
    if (def.type === 'object') {
      if (i === path.length) return Object.keys(def.shape ?? {});
      node = def.shape?.[String(path[i++])];
    } else if (def.type === 'array') {
      if (i === path.length) return undefined;
      i++;
      node = def.element;
    } else if (def.type === 'record') {
      if (i === path.length) return undefined;
      i++;
      node = def.valueType;
    } else if (def.type === 'pipe') node = def.in;
    else if (def.type === 'lazy') node = def.getter?.();
    else node = def.innerType;
  }
  return undefined;
}

/** The message for a key the schema does not allow. */
export function unknownKey(key: string, allowed: readonly string[] | undefined): string {
  if (!allowed) return 'unknown key';
  return `unknown key, expected one of ${allowed.join(', ')}${didYouMean(key, allowed)}`;
}

/**
 * Split each `unrecognized_keys` issue into one issue per key, at the key's own path, naming the
 * keys the schema allows there (so every misspelt key gets its own line and hint).
 */
export function expandUnknownKeys(issues: readonly Issue[], schema: Schema): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') {
      out.push(issue);
      continue;
    }
    const allowed = knownKeys(schema, issue.path);
    for (const key of issue.keys) {
      out.push({
        code: 'custom',
        path: [...issue.path, key],
        message: unknownKey(key, allowed),
        params: COMPLETE,
      });
    }
  }
  return out;
}

function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
  side: 'min' | 'max',
): string {
  const n = Number(limit);
  const plural = n === 1 ? '' : 's';
  const sized: Record<string, string> = {
    string: `character${plural}`,
    array: `item${plural}`,
    set: `item${plural}`,
  };
  const unit = sized[origin];
  if (unit) {
    if (exact) return `exactly ${n} ${unit}`;
    return `${side === 'min' ? 'at least' : 'at most'} ${n} ${unit}`;
  }
  if (exact) return `a number equal to ${n}`;
  const op = side === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `a number ${op} ${n}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  null: 'null',
  nonoptional: 'a value',
};

function expectation(issue: Issue): string {
  // Our schemas word their own messages; zod's defaults never start this way.
  if (issue.message.startsWith('expected ')) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return `expected ${bound(issue.origin, issue.minimum, issue.inclusive, issue.exact, 'min')}`;
    case 'too_big':
      return `expected ${bound(issue.origin, issue.maximum, issue.inclusive, issue.exact, 'max')}`;
    case 'invalid_format':
      return issue.format === 'regex' && issue.pattern
        ? `expected a string matching ${issue.pattern}`
        : `expected a valid ${issue.format}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${describeValue(issue.values[0])}`
        : `expected one of ${issue.values.map(describeValue).join(', ')}`;
    case 'invalid_union':
      return 'expected a value of one of the allowed forms';
    case 'invalid_key':
      return `expected valid keys (${issue.issues.map(expectation).join('; ')})`;
    case 'invalid_element':
      return `expected valid entries (${issue.issues.map(expectation).join('; ')})`;
    default:
      return issue.message;
  }
}

/**
 * One issue as `<path>: <expected>, found <value>`, the value read from the raw document.
 * Our own schemas phrase custom messages as "expected …"; foreign custom messages (from a
 * detector's refinements) are kept as written, with the value quoted only when it is a scalar.
 */
export function formatIssue(issue: Issue, document: unknown): string {
  const where = formatPath(issue.path);
  const what = expectation(issue);
  if (issue.code === 'custom' && issue.params?.['vigil'] === COMPLETE.vigil)
    return `${where}: ${what}`;
  const found = valueAt(document, issue.path);
  if (issue.code === 'custom' && !what.startsWith('expected ')) {
    const scalar = found === null || typeof found !== 'object';
    return found !== undefined && scalar
      ? `${where}: ${what}, found ${describeValue(found)}`
      : `${where}: ${what}`;
  }
  return `${where}: ${what}, found ${describeValue(found)}`;
}
