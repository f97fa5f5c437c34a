/**
 * The one way Vigil pauses: `sleep(ms)` resolves after `ms`, or at once when `signal` aborts
 * (already aborted: immediately), so a shutdown never waits out a backoff. It never rejects.
 * Imports nothing of Vigil's.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
