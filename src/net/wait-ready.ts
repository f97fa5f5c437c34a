/** Waiting for a `vigil serve` child process to answer `/readyz` (the chaos run and cluster tests). */
import { sleep } from '../timing/sleep.js';

export interface ReadyWait {
  /** Base URL of the process's HTTP server. */
  readonly url: string;
  /** True once the process has exited: waiting further is pointless. */
  readonly gone: () => boolean;
  /** What the process has written so far, for the error. */
  readonly output: () => string;
  readonly timeoutMs: number;
  readonly pollMs: number;
}

/** Resolves on the first 200 from `/readyz`; throws with the output when it exits or times out. */
export async function waitUntilReady(wait: ReadyWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    if (wait.gone()) throw new Error(`vigil serve exited while starting:\n${wait.output()}`);
    if (Date.now() > deadline) throw new Error(`vigil serve not ready:\n${wait.output()}`);
    try {
      const res = await fetch(`${wait.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(wait.pollMs);
  }
}
