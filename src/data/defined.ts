/**
 * The object without its `undefined` values, typed so: config sections map onto options whose
 * keys are optional under `exactOptionalPropertyTypes` (an absent key means "the default").
 */
export function defined<T extends object>(
  record: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
