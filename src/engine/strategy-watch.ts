/**
 * Watching a directory of strategy YAML files (`vigil serve --strategies DIR`): `fs.watch` with a
 * debounce and a periodic rescan as fallback; a file whose content changed is proposed to the
 * slots. Removing a file does not deactivate its strategy (docs/engine.md, "Hot reload").
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { watchDir } from '../fs/watch-dir.js';
import { VigilError } from '../errors.js';
import { parseStrategy } from '../core/strategy/parse.js';
import type { Strategy } from '../core/strategy/schema.js';

export interface StrategyWatchOptions {
  readonly dir: string;
  /** Where a changed file goes: the engine's slots, or a cluster node's announcements. */
  readonly slots: {
    propose(strategy: Strategy, yaml: string, source: string): Promise<unknown>;
  };
  /** Quiet period after the last file event before a scan (default 200 ms). */
  readonly debounceMs?: number;
  /** Periodic rescan (default 5000 ms; 0 disables). */
  readonly rescanMs?: number;
  readonly log?: (message: string) => void;
  /** Called for a file that cannot be read or parsed (the same metric as a failed check). */
  readonly onFailure?: (strategy: string, reason: string) => void;
}

export interface StrategyWatcher {
  /** Scan now; resolves when every changed file has been handled. */
  scan(): Promise<void>;
  close(): void;
}

const YAML_FILE = /\.ya?ml$/;

/**
 * Start watching. `known` is the content of files already active (read at start), so they are
 * not proposed again.
 */
export function watchStrategyDir(
  options: StrategyWatchOptions,
  known: ReadonlyMap<string, string> = new Map(),
): StrategyWatcher {
  const log = options.log ?? (() => undefined);
  const onFailure = options.onFailure ?? (() => undefined);
  const seen = new Map(known);
  /** Strategy name of each file, as last parsed (for the removal log). */
  const names = new Map<string, string>();
  for (const [file, text] of known) {
    try {
      names.set(file, parseStrategy(text, file).name);
    } catch {
      // not a valid strategy: it was never active
    }
  }

  const scanOnce = async (): Promise<void> => {
    let files: string[];
    try {
      files = (await readdir(options.dir)).filter((f) => YAML_FILE.test(f)).sort();
    } catch (error) {
      log(`--strategies ${options.dir}: cannot read the directory (${String(error)})`);
      return;
    }
    const present = new Set(files.map((f) => path.join(options.dir, f)));
    for (const file of [...seen.keys()]) {
      if (present.has(file)) continue;
      seen.delete(file);
      const name = names.get(file);
      names.delete(file);
      log(
        `${file} was removed; ` +
          (name === undefined
            ? 'it held no active strategy'
            : `strategy ${name} stays active (upload or roll back another version to change it)`),
      );
    }
    for (const f of files) {
      if (dirWatch.closed) return;
      const file = path.join(options.dir, f);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue; // removed or renamed meanwhile: the next event or rescan sees it
      }
      if (seen.get(file) === text) continue;
      seen.set(file, text);
      try {
        const strategy = parseStrategy(text, file);
        names.set(file, strategy.name);
        await options.slots.propose(strategy, text, file);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // The slots already logged and counted their own rejections.
        if (!(error instanceof VigilError && error.code === 'VIGIL_ERR_STRATEGY_REJECTED')) {
          log(`${file}: not loaded: ${message}`);
          onFailure(f.replace(YAML_FILE, ''), message);
        }
      }
    }
  };

  const dirWatch = watchDir(options.dir, scanOnce, {
    log,
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    ...(options.rescanMs === undefined ? {} : { rescanMs: options.rescanMs }),
  });
  return dirWatch;
}
