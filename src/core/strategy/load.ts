import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isNode, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { VigilError } from '../../errors.js';
import { expandUnknownKeys, formatIssue } from './issues.js';
import { strategySchema, type Strategy } from './schema.js';

/**
 * Reading strategies: YAML text → validated `Strategy`, or one `StrategyError` that lists every
 * problem, one per line, as `<source>: <path>: <expected>, found <value>` (YAML syntax errors as
 * `<source>:<line>:<column>: <message>`), so a user fixes a file in one round trip.
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

/** Shipped with the package, beside `dist/`: resolved from the compiled module at run time. */
const BUILTIN_DIR = new URL('../../../strategies/', import.meta.url);
const YAML_FILE = /\.ya?ml$/;

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

/** Parse and validate one strategy from YAML text; throws `StrategyError`. */
export function parseStrategy(yamlText: string, source = '<strategy>'): Strategy {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false });
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

/** Read and parse a strategy file; errors name the file as given. */
export async function loadStrategyFile(path: string): Promise<Strategy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_NOT_FOUND',
      `cannot read strategy file ${path} (${reason})`,
      {
        cause: err,
      },
    );
  }
  return parseStrategy(text, path);
}

/** Names of the strategies shipped in `strategies/`, sorted. */
export function builtinStrategyNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((file) => YAML_FILE.test(file))
    .map((file) => file.replace(YAML_FILE, ''))
    .sort();
}

/** Every built-in strategy, loaded and validated, sorted by name. */
export async function builtinStrategies(): Promise<Strategy[]> {
  return Promise.all(
    builtinStrategyNames().map((name) => loadStrategyFile(builtinStrategyPath(name))),
  );
}

/** Where a built-in strategy's file is, for tools that show or copy it. */
export function builtinStrategyPath(name: string): string {
  return fileURLToPath(new URL(`${name}.yaml`, BUILTIN_DIR));
}

/**
 * A built-in name (`default`, `fast`, …) or a path to a YAML file. Anything that looks like a
 * path (has a separator or a .yaml/.yml extension) is a file, so a local file never silently
 * shadows a built-in or the other way round.
 */
export async function resolveStrategy(nameOrPath: string): Promise<Strategy> {
  const looksLikePath = /[\\/]/.test(nameOrPath) || YAML_FILE.test(nameOrPath);
  const builtins = builtinStrategyNames();
  if (!looksLikePath && builtins.includes(nameOrPath)) {
    return loadStrategyFile(builtinStrategyPath(nameOrPath));
  }
  if (looksLikePath || existsSync(nameOrPath)) return loadStrategyFile(nameOrPath);
  throw new VigilError(
    'VIGIL_ERR_STRATEGY_NOT_FOUND',
    `no strategy "${nameOrPath}": not a built-in (${builtins.join(', ')}) and no such file`,
  );
}
