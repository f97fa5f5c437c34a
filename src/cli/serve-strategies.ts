/**
 * The strategies `vigil serve` starts with: every `*.yaml` of the strategy directory in file-name
 * order, and the built-in `default`, each stored (a version already stored with other YAML is
 * logged and skipped: the stored one stays).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { builtinStrategyPath, loadStrategyFile } from '../strategy-files/load.js';
import type { Strategy } from '../core/strategy/schema.js';
import { VigilError } from '../errors.js';
import type { Store } from '../store/store.js';
import { configError } from './serve-config.js';

export interface LoadedStrategy {
  readonly strategy: Strategy;
  readonly yaml: string;
  readonly file: string;
}

export interface StartStrategies {
  /** From the directory, in file-name order. */
  readonly fromDir: readonly LoadedStrategy[];
  readonly fallback: LoadedStrategy;
}

async function load(file: string): Promise<LoadedStrategy> {
  return { strategy: await loadStrategyFile(file), yaml: await readFile(file, 'utf8'), file };
}

export async function loadStartStrategies(dir: string | undefined): Promise<StartStrategies> {
  const fromDir: LoadedStrategy[] = [];
  if (dir !== undefined) {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch (err) {
      throw configError([
        `--strategies ${dir}: cannot read the directory (${err instanceof Error ? err.message : String(err)})`,
      ]);
    }
    for (const f of files) fromDir.push(await load(path.join(dir, f)));
  }
  return { fromDir, fallback: await load(builtinStrategyPath('default')) };
}

export async function storeStrategies(
  store: Store,
  strategies: StartStrategies,
  warn: (msg: string) => void,
): Promise<void> {
  for (const s of [...strategies.fromDir, strategies.fallback]) {
    try {
      await store.strategies.save({
        name: s.strategy.name,
        version: s.strategy.version,
        yaml: s.yaml,
      });
    } catch (err) {
      if (!(err instanceof VigilError && err.code === 'VIGIL_ERR_STORE_CONFLICT')) throw err;
      warn(`${s.file}: ${err.message}`);
    }
  }
}

/** By name: the same routing order hot reload keeps (docs/engine.md). */
export function byName(strategies: readonly LoadedStrategy[]): Strategy[] {
  return strategies
    .map((s) => s.strategy)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
