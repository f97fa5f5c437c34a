/**
 * The tokens file, loaded into a TokenSet and reloaded when it changes (fs.watch on its
 * directory, debounced, plus a periodic rescan: src/fs/watch-dir.ts). A new file that does not
 * parse keeps the tokens in force, logs a warning and counts
 * `vigil_auth_reload_failures_total`; so does a deleted one. Authentication stays on whatever
 * the file holds: a file of no tokens refuses every request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { watchDir, type DirWatch } from '../fs/watch-dir.js';
import { counter } from '../metrics/registry.js';
import type { Authenticator, Principal } from './scope.js';
import { TokenSet } from './token-set.js';
import { parseTokensFile, readTokensText } from './tokens-file.js';

export interface WatchedTokensOptions {
  readonly file: string;
  readonly registry: Registry;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** Quiet period after a change before reloading (default 200 ms). */
  readonly debounceMs?: number;
  /** Periodic re-read, for file systems where watching misses changes (default 5000 ms). */
  readonly rescanMs?: number;
  /** Told after every reload attempt of a changed file (tests wait on it). */
  readonly onReload?: (ok: boolean) => void;
}

export class WatchedTokens implements Authenticator {
  /** On for as long as a tokens file is configured, even one of no tokens. */
  readonly enabled = true;
  #tokens: TokenSet;
  #count: number;
  /** The text last read, valid or not: a rescan of an unchanged file does nothing. */
  #lastText: string;
  #watch: DirWatch | undefined;

  private constructor(tokens: TokenSet, count: number, text: string) {
    this.#tokens = tokens;
    this.#count = count;
    this.#lastText = text;
  }

  /** Reads the file (an invalid one throws VIGIL_ERR_CONFIG) and starts watching it. */
  static async open(options: WatchedTokensOptions): Promise<WatchedTokens> {
    const { file } = options;
    const text = await readTokensText(file);
    const entries = parseTokensFile(text, file);
    const held = new WatchedTokens(new TokenSet(entries), entries.length, text);
    const failures = counter(
      options.registry,
      'vigil_auth_reload_failures_total',
      'Changes of the tokens file not applied (unreadable or invalid): the previous tokens stay',
      [],
    );
    const name = path.basename(file);
    held.#watch = watchDir(
      path.dirname(path.resolve(file)),
      async () => {
        let next: string;
        let unreadable: string | undefined;
        try {
          next = await readFile(file, 'utf8');
        } catch (err) {
          unreadable = err instanceof Error ? err.message : String(err);
          next = `(unreadable: ${unreadable})`;
        }
        if (next === held.#lastText) return;
        held.#lastText = next;
        try {
          if (unreadable !== undefined) {
            throw new VigilError('VIGIL_ERR_CONFIG', `${file}: cannot read (${unreadable})`);
          }
          const reloaded = parseTokensFile(next, file);
          held.#tokens = new TokenSet(reloaded);
          held.#count = reloaded.length;
          options.log.info(`${name}: reloaded, ${reloaded.length} tokens`);
          options.onReload?.(true);
        } catch (err) {
          failures.inc();
          const why = err instanceof Error ? err.message : String(err);
          options.log.warn(
            `${name}: not reloaded, keeping the ${held.#count} tokens in force: ${why}`,
          );
          options.onReload?.(false);
        }
      },
      {
        log: (message) => options.log.warn(message),
        ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
        ...(options.rescanMs === undefined ? {} : { rescanMs: options.rescanMs }),
      },
    );
    return held;
  }

  /** How many tokens are in force. */
  get size(): number {
    return this.#count;
  }

  authenticate(secret: string): Principal | undefined {
    return this.#tokens.authenticate(secret);
  }

  close(): void {
    this.#watch?.close();
  }
}

/**
 * The authenticator `vigil serve` runs with (every role): the tokens file watched when one is
 * configured, else none (loopback only, docs/security.md).
 */
export async function openAuthenticator(
  file: string | undefined,
  options: Omit<WatchedTokensOptions, 'file'>,
): Promise<Authenticator> {
  return file === undefined ? new TokenSet([]) : WatchedTokens.open({ ...options, file });
}
