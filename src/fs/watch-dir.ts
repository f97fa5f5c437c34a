/**
 * Runs a directory scan whenever the directory may have changed: `fs.watch` events, debounced,
 * plus a periodic rescan as the fallback for file systems where watching misses changes. Scans
 * never overlap: a change seen during a scan runs one more scan after it. Shared by the strategy
 * and model directory watchers, which differ only in what a scan does.
 */
import { watch, type FSWatcher } from 'node:fs';

export interface DirWatchOptions {
  /** Quiet period after the last file event before a scan (default 200 ms). */
  readonly debounceMs?: number;
  /** Periodic rescan (default 5000 ms; 0 disables). */
  readonly rescanMs?: number;
  readonly log: (message: string) => void;
}

export interface DirWatch {
  /** Scan now (or join the running scan and one more); resolves when it is done. */
  scan(): Promise<void>;
  /** True once closed: a scan in progress should stop at the next file. */
  readonly closed: boolean;
  close(): void;
}

export function watchDir(
  dir: string,
  scanOnce: () => Promise<void>,
  options: DirWatchOptions,
): DirWatch {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const scan = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await scanOnce();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const kick = () => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void scan();
    }, options.debounceMs ?? 200);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, kick);
    watcher.on('error', (error) => options.log(`watching ${dir} failed: ${String(error)}`));
  } catch (error) {
    options.log(`cannot watch ${dir} (${String(error)}); relying on the periodic rescan`);
  }
  const every = options.rescanMs ?? 5000;
  const rescan = every > 0 ? setInterval(kick, every) : undefined;
  rescan?.unref();

  return {
    scan,
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      watcher?.close();
      if (timer !== undefined) clearTimeout(timer);
      if (rescan !== undefined) clearInterval(rescan);
    },
  };
}
