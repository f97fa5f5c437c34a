/** Two runs' events side by side: equal, or which ids are only in one and which differ. */
import type { StoredEvent } from './store-reader.js';

export interface EventDiff {
  readonly equal: boolean;
  readonly onlyInChaos: readonly StoredEvent[];
  readonly onlyInReference: readonly StoredEvent[];
  readonly differing: readonly { readonly chaos: StoredEvent; readonly reference: StoredEvent }[];
}

const same = (a: StoredEvent, b: StoredEvent): boolean => JSON.stringify(a) === JSON.stringify(b);

export function diffEvents(
  chaos: readonly StoredEvent[],
  reference: readonly StoredEvent[],
): EventDiff {
  const ref = new Map(reference.map((e) => [e.id, e]));
  const mine = new Map(chaos.map((e) => [e.id, e]));
  const onlyInChaos = chaos.filter((e) => !ref.has(e.id));
  const onlyInReference = reference.filter((e) => !mine.has(e.id));
  const differing = chaos.flatMap((e) => {
    const r = ref.get(e.id);
    return r !== undefined && !same(e, r) ? [{ chaos: e, reference: r }] : [];
  });
  return {
    equal: onlyInChaos.length === 0 && onlyInReference.length === 0 && differing.length === 0,
    onlyInChaos,
    onlyInReference,
    differing,
  };
}
