/**
 * Rate limits per caller (docs/operations.md): two token buckets per principal, one for requests
 * and one for points, refilled at the principal's own rates (`principal.rates`) or the configured
 * defaults; a caller without either rate is not limited in that kind, so limits are off unless
 * configured. A bucket holds `burstS` seconds of its rate.
 *
 * Contract: `takeRequest` runs for every request but public ones and the health checks, before
 * the body is read; `takePoints` runs in an ingest route after parsing and before anything is
 * durable, so a refused request stores nothing (never a part). Over the limit → 429
 * `VIGIL_ERR_RATE_LIMITED` with Retry-After, the seconds until the bucket holds enough, counted
 * in `vigil_rate_limited_total{principal,kind}`.
 *
 * Keys: the principal's name (a configured token, so few), or `anonymous` when auth is off. With
 * auth off Vigil listens on loopback only, where every caller has the same address: the limits
 * then apply to all callers together. The map is still capped (`maxKeys`, least recently used
 * dropped first) so that no input can grow it without bound.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { counter } from '../metrics/registry.js';
import type { Principal, Rates } from './scope.js';

export const ANONYMOUS = 'anonymous';

export type LimitKind = 'requests' | 'points';

export interface RateLimitOptions {
  /** Rates for principals whose token sets none (and for `anonymous`); default none: unlimited. */
  readonly defaults?: Rates;
  /** Seconds of the sustained rate a bucket holds; default 1. */
  readonly burstS?: number;
  /** Monotonic milliseconds; default `performance.now`. Tests pass a fixed clock. */
  readonly now?: () => number;
  /** Most keys held; default 10,000. */
  readonly maxKeys?: number;
}

/** A request refused by a rate limit: 429 with `Retry-After: retryAfterS`. */
export class RateLimitedError extends VigilError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('VIGIL_ERR_RATE_LIMITED', message);
  }
}

/**
 * Holds up to `capacity` tokens, refilled at `ratePerS`. A take larger than the capacity passes
 * when the bucket is full and leaves it in debt, so a large batch is possible but the sustained
 * rate still holds.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly ratePerS: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  /** 0 when `n` tokens were taken; else the seconds until they could be (nothing taken). */
  take(n: number, now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.ratePerS);
    this.at = now;
    const needed = Math.min(n, this.capacity);
    if (this.tokens >= needed) {
      this.tokens -= n;
      return 0;
    }
    return (needed - this.tokens) / this.ratePerS;
  }
}

interface Buckets {
  requests?: TokenBucket;
  points?: TokenBucket;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Buckets>();
  private readonly defaults: Rates;
  private readonly burstS: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly limited;

  constructor(registry: Registry, options: RateLimitOptions = {}) {
    this.defaults = options.defaults ?? {};
    this.burstS = options.burstS ?? 1;
    this.now = options.now ?? (() => performance.now());
    this.maxKeys = options.maxKeys ?? 10_000;
    this.limited = counter(
      registry,
      'vigil_rate_limited_total',
      'Requests refused (429) by a rate limit, by principal (token name, or anonymous) and kind (requests, points)',
      ['principal', 'kind'],
    );
  }

  /** Throws RateLimitedError when `principal` has no request left. */
  takeRequest(principal: Principal | undefined): void {
    this.take(principal, 'requests', 1);
  }

  /** Throws RateLimitedError when `principal` may not send `n` points now. */
  takePoints(principal: Principal | undefined, n: number): void {
    if (n > 0) this.take(principal, 'points', n);
  }

  private take(principal: Principal | undefined, kind: LimitKind, n: number): void {
    const rate =
      kind === 'requests' ? this.rates(principal).requestsPerS : this.rates(principal).pointsPerS;
    if (rate === undefined) return;
    const key = principal?.name ?? ANONYMOUS;
    const now = this.now();
    const buckets = this.bucketsOf(key);
    const bucket = (buckets[kind] ??= new TokenBucket(rate, Math.max(1, rate * this.burstS), now));
    const waitS = bucket.take(n, now);
    if (waitS === 0) return;
    this.limited.inc({ principal: key, kind });
    const retryAfterS = Math.max(1, Math.ceil(waitS));
    const what = kind === 'requests' ? 'requests' : `points (${n} in this request)`;
    throw new RateLimitedError(
      `${key}: over the rate limit of ${rate} ${kind}/s for ${what}: retry after ${retryAfterS} s`,
      retryAfterS,
    );
  }

  private rates(principal: Principal | undefined): Rates {
    return { ...this.defaults, ...principal?.rates };
  }

  /** The key's buckets, most recently used last; the least recently used go beyond `maxKeys`. */
  private bucketsOf(key: string): Buckets {
    let buckets = this.buckets.get(key);
    if (buckets !== undefined) this.buckets.delete(key);
    else buckets = {};
    this.buckets.set(key, buckets);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return buckets;
  }

  /** Keys held now (tests check the bound). */
  get size(): number {
    return this.buckets.size;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's rate limits (addRateLimits); undefined on a server built without them. */
    rateLimiter?: RateLimiter;
  }
}

/** Routes never limited: public ones (health, login) and the probes an orchestrator sends. */
const UNLIMITED_URLS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * Limits every request of `app` but public ones. A preParsing hook: it runs after every
 * onRequest hook (authentication sets `request.principal` there, in whatever order they were
 * added) and before the body is read, so a limited request costs no body parsing.
 */
export function addRateLimits(app: FastifyInstance, limiter: RateLimiter): void {
  app.decorate('rateLimiter', limiter);
  app.addHook('preParsing', async (request) => {
    if (request.routeOptions.config.scope === 'public') return;
    if (UNLIMITED_URLS.has(request.routeOptions.url ?? '')) return;
    limiter.takeRequest(request.principal);
  });
}

/**
 * For an ingest route, after parsing and before `engine.ingest`: throws RateLimitedError when the
 * caller may not send `n` points now, so the whole request is refused with nothing stored.
 */
export function takePoints(request: FastifyRequest, n: number): void {
  request.server.rateLimiter?.takePoints(request.principal, n);
}
