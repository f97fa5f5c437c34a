/**
 * The `alerts` section of `vigil serve`'s config file: one zod schema that validates the file and
 * is the TypeScript type, and `sinkSettings`, which applies the defaults and resolves secrets
 * once at start (docs/alerts.md, "Configuration").
 */
import { z } from 'zod';
import { VigilError } from '../errors.js';
import { RETRY_DEFAULTS, seedOf, type RetryPolicy } from './backoff.js';
import { BREAKER_DEFAULTS, type BreakerOptions } from './circuit-breaker.js';

const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL');
const ms = z.number().int().min(0);
const positiveMs = z.number().int().positive();
const name = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected 1–100 letters, digits or _ . : -');
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a Prometheus label name');

const retrySchema = z
  .strictObject({
    max_attempts: z.number().int().min(1).max(100),
    initial_ms: positiveMs,
    max_ms: positiveMs,
    multiplier: z.number().min(1).max(10),
    jitter: z.number().min(0).max(1),
  })
  .partial();

const breakerSchema = z
  .strictObject({
    window: z.number().int().min(1).max(10_000),
    failure_ratio: z.number().gt(0).max(1),
    min_calls: z.number().int().min(1).max(10_000),
    open_ms: ms,
  })
  .partial();

const webhookSchema = z
  .strictObject({
    name,
    url: httpUrl,
    /** The HMAC key, or `secret_env`: the environment variable holding it. */
    secret: z.string().min(16, 'use a secret of at least 16 characters'),
    secret_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
    timeout_ms: positiveMs,
    queue_size: z.number().int().min(1).max(1_000_000),
    seed: z.number().int().min(0),
    retry: retrySchema,
    breaker: breakerSchema,
  })
  .partial()
  .required({ url: true })
  .refine((w) => (w.secret === undefined) !== (w.secret_env === undefined), {
    message: 'give exactly one of secret and secret_env',
  });

export const alertsConfigSchema = z
  .strictObject({
    /** Base URL of dashboard links (`<public_url>/#/incidents/<id>`); default the HTTP address. */
    public_url: httpUrl,
    /**
     * The incident cool-down: events of one device this close in event time join one incident;
     * default 5 min.
     */
    grouping_window_ms: ms,
    /** At shutdown, how long sinks may still deliver before dead-lettering; default 5 s. */
    flush_timeout_ms: ms,
    alertmanager: z
      .strictObject({
        name,
        urls: z.array(httpUrl).min(1),
        resend_interval_ms: positiveMs,
        timeout_ms: positiveMs,
        alertname: z.string().min(1),
        labels: z.record(labelName, z.string()),
        /** On acknowledgement, silence the alert in Alertmanager this long; 0: never. */
        silence_on_ack_ms: ms,
      })
      .partial()
      .required({ urls: true }),
    webhooks: z.array(webhookSchema),
  })
  .partial();

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;

export const ALERT_DEFAULTS = {
  groupingWindowMs: 300_000,
  flushTimeoutMs: 5_000,
  alertmanager: {
    name: 'alertmanager',
    resendIntervalMs: 60_000,
    timeoutMs: 10_000,
    silenceOnAckMs: 86_400_000,
  },
  alertname: 'VigilAnomaly',
  webhook: { timeoutMs: 5_000, queueSize: 1_000 },
} as const;

export interface WebhookSettings {
  readonly name: string;
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly queueSize: number;
  readonly seed: number;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerOptions;
}

export interface AlertSettings {
  readonly publicUrl: string;
  readonly groupingWindowMs: number;
  readonly flushTimeoutMs: number;
  readonly alertmanager:
    | {
        readonly name: string;
        readonly urls: readonly string[];
        readonly resendIntervalMs: number;
        readonly timeoutMs: number;
        readonly alertname: string;
        readonly labels: Readonly<Record<string, string>>;
        readonly silenceOnAckMs: number;
      }
    | undefined;
  readonly webhooks: readonly WebhookSettings[];
}

/** Defaults applied, secrets read, cross-field rules checked; throws VIGIL_ERR_CONFIG. */
export function alertSettings(
  config: AlertsConfig,
  defaultPublicUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): AlertSettings {
  const problems: string[] = [];
  const names = new Set<string>();
  const unique = (n: string, where: string): string => {
    if (names.has(n)) problems.push(`${where}: sink name ${JSON.stringify(n)} is used twice`);
    names.add(n);
    return n;
  };
  const am = config.alertmanager;
  const alertmanager =
    am === undefined
      ? undefined
      : {
          name: unique(am.name ?? ALERT_DEFAULTS.alertmanager.name, 'alerts.alertmanager.name'),
          urls: am.urls,
          resendIntervalMs: am.resend_interval_ms ?? ALERT_DEFAULTS.alertmanager.resendIntervalMs,
          timeoutMs: am.timeout_ms ?? ALERT_DEFAULTS.alertmanager.timeoutMs,
          alertname: am.alertname ?? ALERT_DEFAULTS.alertname,
          labels: am.labels ?? {},
          silenceOnAckMs: am.silence_on_ack_ms ?? ALERT_DEFAULTS.alertmanager.silenceOnAckMs,
        };
  const webhooks = (config.webhooks ?? []).map((w, i): WebhookSettings => {
    const where = `alerts.webhooks.${i}`;
    const sinkName = unique(w.name ?? `webhook-${i}`, `${where}.name`);
    let secret = w.secret ?? '';
    if (w.secret_env !== undefined) {
      secret = env[w.secret_env] ?? '';
      if (secret.length < 16) {
        problems.push(
          `${where}.secret_env: environment variable ${w.secret_env} must hold a secret of at least 16 characters`,
        );
      }
    }
    const retry: RetryPolicy = {
      maxAttempts: w.retry?.max_attempts ?? RETRY_DEFAULTS.maxAttempts,
      initialMs: w.retry?.initial_ms ?? RETRY_DEFAULTS.initialMs,
      maxMs: w.retry?.max_ms ?? RETRY_DEFAULTS.maxMs,
      multiplier: w.retry?.multiplier ?? RETRY_DEFAULTS.multiplier,
      jitter: w.retry?.jitter ?? RETRY_DEFAULTS.jitter,
    };
    if (retry.maxMs < retry.initialMs) {
      problems.push(
        `${where}.retry: max_ms (${retry.maxMs}) is below initial_ms (${retry.initialMs})`,
      );
    }
    const window = w.breaker?.window ?? BREAKER_DEFAULTS.windowSize;
    const breaker: BreakerOptions = {
      windowSize: window,
      failureRatio: w.breaker?.failure_ratio ?? BREAKER_DEFAULTS.failureRatio,
      minCalls: w.breaker?.min_calls ?? window,
      openMs: w.breaker?.open_ms ?? BREAKER_DEFAULTS.openMs,
    };
    if (breaker.minCalls > breaker.windowSize) {
      problems.push(
        `${where}.breaker: min_calls (${breaker.minCalls}) is above window (${window})`,
      );
    }
    return {
      name: sinkName,
      url: w.url,
      secret,
      timeoutMs: w.timeout_ms ?? ALERT_DEFAULTS.webhook.timeoutMs,
      queueSize: w.queue_size ?? ALERT_DEFAULTS.webhook.queueSize,
      seed: w.seed ?? seedOf(sinkName),
      retry,
      breaker,
    };
  });
  if (problems.length > 0) throw new VigilError('VIGIL_ERR_CONFIG', problems.join('\n'));
  return {
    publicUrl: config.public_url ?? defaultPublicUrl,
    groupingWindowMs: config.grouping_window_ms ?? ALERT_DEFAULTS.groupingWindowMs,
    flushTimeoutMs: config.flush_timeout_ms ?? ALERT_DEFAULTS.flushTimeoutMs,
    alertmanager,
    webhooks,
  };
}
