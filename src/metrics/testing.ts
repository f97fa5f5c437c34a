/** For tests: read one sample of a registry, as a scrape would show it. */
import type { Registry } from 'prom-client';

/** The value of `name{labels}` (labels as exposed, e.g. `protocol="http",result="accepted"`); 0 when absent. */
export async function sampleValue(registry: Registry, name: string, labels = ''): Promise<number> {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}
