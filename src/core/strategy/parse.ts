import { isNode, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { VigilError } from '../../errors.js';
import { expandUnknownKeys, formatIssue } from './issues.js';
import { strategySchema, type Strategy } from './schema.js';

/**
 * Reading strategies: YAML text → validated `Strategy`, or one `StrategyError` that lists every
 * problem, one per line, as `<source>: <path>: <expected>, found <value>` (YAML syntax errors as
 * `<source>:<line>:<column>: <message>`), so a user fixes a file in one round trip. Pure: the
 * files and the built-in directory are read by src/strategy-files.
 */

/** A strategy that fails to parse or validate; `problems` are the message's lines. */
export class StrategyError extends VigilError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('VIGIL_ERR_STRATEGY_INVALID', problems.join('\n'));
    this.name = 'StrategyError';
    this.problems = problems;
  }
}

/** Where in the source text a path is, for listing problems in reading order. */
type Locate = (path: readonly PropertyKey[]) => number;

function validate(document: unknown, source: string, locate?: Locate): Strategy {
  const result = strategySchema.safeParse(document);
  if (result.success) return result.data;
  let issues = expandUnknownKeys(result.error.issues, strategySchema);
  if (locate) {
    const at = new Map(issues.map((issue) => [issue, locate(issue.path)]));
    issues = issues.sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0));
  }
  const lines = issues.map((issue) => `${source}: ${formatIssue(issue, document)}`);
  // A composite's schema and our member-by-member check can report the same problem.
  throw new StrategyError([...new Set(lines)]);
}

/** Validate an already-parsed document (e.g. a JSON request body); throws `StrategyError`. */
export function validateStrategy(document: unknown, source = '<strategy>'): Strategy {
  return validate(document, source);
}

/** Offset of the deepest node along `path` that exists (a missing key sorts with its parent). */
function locator(doc: Document.Parsed): Locate {
  return (path) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return 0;
  };
}

function syntaxProblem(source: string, lines: LineCounter, error: YAMLError): string {
  const { line, col } = lines.linePos(error.pos[0]);
  return `${source}:${line}:${col}: ${error.message}`;
}

function isCyclic(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return false;
  } catch {
    return true;
  }
}

/** Deepest nesting a strategy may have: real ones stay under ten levels. */
const MAX_NESTING = 64;

/**
 * Where the text nests deeper than MAX_NESTING, checked before the yaml parser sees it: its time
 * grows steeply with nesting (a 2 KB line of a thousand `[` takes about 0.2 s, then overflows the
 * stack), and strategies arrive in request bodies. Counted on the text: open flow brackets, and
 * a line's leading run of indentation and `-`/`?` indicators (each level takes a column or more).
 */
function nestingProblem(text: string, source: string): string | undefined {
  let flow = 0;
  let line = 1;
  let lineStart = 0;
  let lead = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      lead = 0;
      atStart = true;
      continue;
    }
    if (atStart && (c === ' ' || c === '\t' || c === '-' || c === '?')) {
      if (++lead > MAX_NESTING * 4) {
        return `${source}:${line}:${lead}: indented or nested deeper than a strategy can be (over ${MAX_NESTING * 4} columns)`;
      }
      continue;
    }
    atStart = false;
    if (c === '[' || c === '{') {
      if (++flow > MAX_NESTING) {
        return `${source}:${line}:${i - lineStart + 1}: nested deeper than ${MAX_NESTING} levels of brackets`;
      }
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return undefined;
}

/** Parse and validate one strategy from YAML text; throws `StrategyError`. */
export function parseStrategy(yamlText: string, source = '<strategy>'): Strategy {
  const nesting = nestingProblem(yamlText, source);
  if (nesting !== undefined) throw new StrategyError([nesting]);
  const lines = new LineCounter();
  // logLevel 'error': the library would otherwise print process warnings (a collection used as
  // a key) that any request body can trigger; its warnings are collected in `doc.warnings` anyway.
  const doc = parseDocument(yamlText, {
    lineCounter: lines,
    prettyErrors: false,
    logLevel: 'error',
  });
  // Warnings (unknown tags) are errors too: a strategy must mean exactly what it says.
  const syntax = [...doc.errors, ...doc.warnings].map((e) => syntaxProblem(source, lines, e));
  if (syntax.length > 0) throw new StrategyError(syntax);
  if (doc.contents === null) {
    throw new StrategyError([
      `${source}: (root): expected a strategy document, found an empty file`,
    ]);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    throw new StrategyError([
      `${source}: (root): ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  if (isCyclic(value)) {
    throw new StrategyError([
      `${source}: (root): expected a tree, found an alias that refers to itself`,
    ]);
  }
  return validate(value, source, locator(doc));
}
