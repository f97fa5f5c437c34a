/**
 * Watching the model directory (`vigil serve --models DIR`): `fs.watch` with a debounce, and a
 * periodic rescan for file systems where watching misses changes (src/fs/watch-dir.ts, shared
 * with the strategy watcher). A `*.onnx` file whose size or mtime changed is read and, when its
 * bytes differ from the last attempt, handed to the registry (staging, test, swap); a file that
 * disappeared unloads its model. Dot-files (editors' and copy tools' temporaries) are ignored.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { watchDir } from '../fs/watch-dir.js';
import { modelNameOf, type ModelRegistry } from './model-registry.js';

export interface ModelWatchOptions {
  readonly dir: string;
  readonly registry: ModelRegistry;
  /** Quiet period after the last file event before a scan (default 200 ms). */
  readonly debounceMs?: number;
  /** Periodic rescan (default 5000 ms; 0 disables). */
  readonly rescanMs?: number;
  readonly log?: (message: string) => void;
}

export interface ModelWatcher {
  /** Scan now; resolves when every change found has been handled. */
  scan(): Promise<void>;
  close(): void;
}

const MODEL_FILE = /^[^.].*\.onnx$/;

interface Seen {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

/** Start watching; call `scan()` once for the initial load. */
export function watchModelDir(options: ModelWatchOptions): ModelWatcher {
  const { dir, registry } = options;
  const log = options.log ?? (() => undefined);
  // Last attempt per file, failed or not, so a bad file is reported once, not on every rescan.
  const seen = new Map<string, Seen>();

  const scanOnce = async (): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((f) => MODEL_FILE.test(f)).sort();
    } catch (error) {
      log(`--models ${dir}: cannot read the directory (${String(error)})`);
      return;
    }
    const present = new Set(names.map((f) => path.join(dir, f)));
    for (const file of [...seen.keys()]) {
      if (present.has(file) || dirWatch.closed) continue;
      seen.delete(file);
      await registry.unload(modelNameOf(file));
    }
    for (const file of present) {
      if (dirWatch.closed) return;
      let bytes: Buffer;
      let size: number;
      let mtimeMs: number;
      try {
        ({ size, mtimeMs } = await stat(file));
        const before = seen.get(file);
        if (before && before.size === size && before.mtimeMs === mtimeMs) continue;
        bytes = await readFile(file);
      } catch {
        continue; // removed or renamed meanwhile: the next event or rescan sees it
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const before = seen.get(file);
      seen.set(file, { size, mtimeMs, sha256 });
      if (before?.sha256 === sha256) continue; // touched, same bytes
      await registry.load(file, bytes);
    }
  };

  const dirWatch = watchDir(dir, scanOnce, {
    log,
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    ...(options.rescanMs === undefined ? {} : { rescanMs: options.rescanMs }),
  });
  return dirWatch;
}
