/**
 * Cluster-wide strategy changes (docs/cluster.md, "Strategy changes"): the active version of each
 * strategy name is announced under `strategy.<name>` in a JetStream KV bucket without TTL. Any
 * node announces (after storing the version in the shared store); every node watches, and each
 * scorer swaps its partition engines to the announced version through the usual staging and
 * health check.
 */
import type { KV } from '@nats-io/kv';
import { VigilError } from '../errors.js';

export const announcementKey = (name: string): string => `strategy.${name}`;

/** The version announced for `name` and the KV revision it was written at. */
export async function announced(
  kv: KV,
  name: string,
): Promise<{ version: number; revision: number } | undefined> {
  const entry = await kv.get(announcementKey(name));
  if (entry === null || entry.operation !== 'PUT') return undefined;
  return { version: Number(entry.string()), revision: entry.revision };
}

/**
 * Announce `version` as the active one of `name`. Written at the revision read before the change
 * was checked, so of two concurrent changes of a name one is refused (retry it).
 */
export async function announce(
  kv: KV,
  name: string,
  version: number,
  revision: number | undefined,
): Promise<void> {
  try {
    if (revision === undefined) await kv.create(announcementKey(name), String(version));
    else await kv.update(announcementKey(name), String(version), revision);
  } catch (error) {
    throw new VigilError(
      'VIGIL_ERR_STORE_CONFLICT',
      `strategy ${name}: another change of it was announced meanwhile; retry (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  }
}

/** Every announcement (the current ones first, then each new one) until the returned stop. */
export async function watchAnnouncements(
  kv: KV,
  onChange: (name: string, version: number) => void,
  warn: (message: string) => void,
): Promise<() => void> {
  const watch = await kv.watch({ key: announcementKey('*') });
  void (async () => {
    try {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT') continue;
        const version = Number(entry.string());
        const name = entry.key.slice(announcementKey('').length);
        if (!Number.isInteger(version) || version < 1) {
          warn(`strategy announcement ${entry.key}: not a version: ${entry.string()}`);
          continue;
        }
        onChange(name, version);
      }
    } catch (error) {
      warn(`strategy announcements: watch ended: ${String(error)}`);
    }
  })();
  return () => watch.stop();
}
