import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';

/**
 * The storage limit both store benchmarks compare against: `psql \copy` of a tab-separated file
 * (device_id, metric, time, value) into `table`. Resolves with the seconds it took.
 * `onSpawn` lets a caller track the child for clean-up on interruption.
 */
export function psqlCopy(
  url: string,
  file: string,
  table: string,
  onSpawn?: (child: ChildProcess) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      'psql',
      [
        url,
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `\\copy ${table} (device_id, metric, time, value) from stdin`,
      ],
      { stdio: ['pipe', 'inherit', 'inherit'] },
    );
    onSpawn?.(child);
    createReadStream(file).pipe(child.stdin);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve((performance.now() - t0) / 1000)
        : reject(new Error(`psql exited with ${code}`)),
    );
  });
}
