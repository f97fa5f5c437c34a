/**
 * `record[key] = value` for records keyed by outside data: a key such as "__proto__" becomes an
 * own property instead of replacing the record's prototype (and silently losing the value).
 */
export function setOwn<V>(record: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else record[key] = value;
}
