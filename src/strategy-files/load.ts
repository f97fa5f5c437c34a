/**
 * Strategy files: reading a strategy YAML file, and the built-in strategies shipped in
 * `strategies/` (names, paths, resolving a name or a path). The I/O edge of src/core/strategy,
 * which only parses text; errors name the file as given.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseStrategy } from '../core/strategy/parse.js';
import type { Strategy } from '../core/strategy/schema.js';
import { VigilError } from '../errors.js';

/** Shipped with the package, beside `dist/`: resolved from the compiled module at run time. */
const BUILTIN_DIR = new URL('../../strategies/', import.meta.url);
const YAML_FILE = /\.ya?ml$/;

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
