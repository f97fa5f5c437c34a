/** Calls to the HTTP API; every failure becomes an ApiError carrying the server's code/message. */
import type {
  ActiveStrategies,
  BucketedPoints,
  ExpectedBandColumns,
  Label,
  Overview,
  ReloadAnswer,
  Scores,
  Session,
  ShadowDetail,
  ShadowRun,
  SeriesInfo,
  SignedIn,
  StrategySummary,
  StrategyVersion,
  VigilEvent,
} from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | undefined>;

let unauthenticated: (() => void) | undefined;

/** Who hears that an API call answered 401 (no session, or it ended): the login view. */
export function onUnauthenticated(handler: () => void): void {
  unauthenticated = handler;
}

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** `quiet`: a 401 is this call's answer (the session calls), not a reason to show the login. */
async function request<T>(path: string, init: RequestInit = {}, quiet = false): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `cannot reach the server (${String(err)})`);
  }
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status === 401 && !quiet) unauthenticated?.();
  if (!res.ok) {
    const b = (body ?? {}) as { code?: string; message?: string };
    throw new ApiError(res.status, b.code ?? `HTTP_${res.status}`, b.message ?? res.statusText);
  }
  return body as T;
}

export const api = {
  /** `{auth: false}`, or who the session is; 401 (ApiError) when signed out. */
  session: () => request<Session>('/v1/session', {}, true),
  signIn: (token: string) =>
    request<SignedIn>(
      '/v1/session',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      },
      true,
    ),
  signOut: () => request<void>('/v1/session', { method: 'DELETE' }, true),
  overview: (q: { limit?: number; cursor?: string; q?: string; tag?: string } = {}) =>
    request<Overview>(withQuery('/v1/overview', q)),
  devices: () => request<{ devices: string[] }>('/v1/devices'),
  /** One page of devices, searched by a part of the id (server-side). */
  devicePage: (q: { q?: string; limit?: number; cursor?: string }) =>
    request<{ devices: string[]; next_cursor: string | null }>(withQuery('/v1/devices', q)),
  series: (device?: string) =>
    request<{ series: SeriesInfo[] }>(withQuery('/v1/series', { device })),
  buckets: (q: { device: string; metric: string; from: number; to: number; bucket: number }) =>
    request<BucketedPoints>(withQuery('/v1/points', q)),
  scores: (q: { device: string; metric: string; from: number; to: number; bucket: number }) =>
    request<Scores>(withQuery('/v1/scores', q)),
  /** Declare the unit of a metric, for every device (`PUT /v1/units/:metric`; admin scope). */
  setUnit: (metric: string, unit: string) =>
    request<{ metric: string; unit: string }>(`/v1/units/${encodeURIComponent(metric)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ unit }),
    }),
  band: (q: { device: string; metric: string; from: number; to: number; bucket: number }) =>
    request<ExpectedBandColumns>(withQuery('/v1/band', q)),
  events: (q: Query) => request<{ events: VigilEvent[] }>(withQuery('/v1/events', q)),
  event: (id: string) => request<VigilEvent>(`/v1/events/${encodeURIComponent(id)}`),
  strategies: () => request<{ strategies: StrategySummary[] }>('/v1/strategies'),
  versions: (name: string) =>
    request<{ name: string; versions: StrategyVersion[] }>(
      `/v1/strategies/${encodeURIComponent(name)}/versions`,
    ),
  active: () => request<ActiveStrategies>('/v1/strategies/active'),
  saveStrategy: (name: string, yaml: string) =>
    request<ReloadAnswer>(`/v1/strategies/${encodeURIComponent(name)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: yaml,
    }),
  rollback: (name: string, version: number) =>
    request<ReloadAnswer>(`/v1/strategies/${encodeURIComponent(name)}/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version }),
    }),
  shadows: () => request<{ runs: ShadowRun[] }>('/v1/shadows'),
  shadow: (id: number) => request<ShadowDetail>(`/v1/shadows/${id}`),
  startShadow: (strategy: string, version: number) =>
    request<ShadowRun>('/v1/shadows', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ strategy, version }),
    }),
  promoteShadow: (id: number) =>
    request<{ run: ShadowRun; reload: ReloadAnswer }>(`/v1/shadows/${id}/promote`, {
      method: 'POST',
    }),
  discardShadow: (id: number) =>
    request<ShadowRun>(`/v1/shadows/${id}/discard`, { method: 'POST' }),
  /** The feedback-labels contract (another feature implements the route). */
  label: (id: string, label: Label, note?: string) =>
    request<unknown>(`/v1/events/${encodeURIComponent(id)}/label`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(note === undefined || note === '' ? { label } : { label, note }),
    }),
};
