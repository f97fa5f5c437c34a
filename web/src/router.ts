/**
 * Hash routes: `#/`, `#/series/<device>/<metric>`, `#/events`, `#/events/<id>`,
 * `#/strategies[/<name>]`, `#/shadows[/<id>]`, `#/incidents[/<id>]`, each with an optional `?query`. Segments are URL-encoded, so ids
 * containing `/` or `|` survive.
 */
export interface Route {
  readonly path: readonly string[];
  readonly query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [pathPart = '', queryPart = ''] = text.split('?', 2);
  const path = pathPart
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  return { path, query: new URLSearchParams(queryPart) };
}

export function href(
  path: readonly string[],
  query: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== '') params.set(k, String(v));
  const q = params.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${q === '' ? '' : `?${q}`}`;
}

/** Change the address without re-rendering (e.g. the chart's zoom), so it can be shared. */
export function replaceQuietly(hash: string): void {
  history.replaceState(null, '', hash);
}

export const seriesHref = (device: string, metric: string, query = {}) =>
  href(['series', device, metric], query);
export const eventHref = (id: string) => href(['events', id]);
