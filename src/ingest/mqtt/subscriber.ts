/**
 * MQTT ingest: subscribes to configured topic patterns (QoS 1, persistent session), turns each
 * message into points and acknowledges it (PUBACK) only once `engine.ingest` has made the points
 * durable, so a crash never loses an acknowledged message: the broker redelivers what was not
 * acknowledged. MQTT.js hands messages one at a time to `handleMessage` and sends the PUBACK when
 * its callback is called (its documented backpressure hook), which is where the ingest waits.
 *
 * On engine backpressure the subscriber pauses: it keeps the message, waits the engine's
 * Retry-After and tries again, reading nothing else meanwhile, so TCP and the broker hold the
 * rest. A bad payload is counted, logged with its topic and reason, and acknowledged (sending it
 * again would not make it better). Reconnects back off exponentially from `reconnectMinMs` to
 * `reconnectMaxMs`, also after the broker refused the credentials.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { Counter, Gauge, Registry } from 'prom-client';
import { BackpressureError, type Engine, type IngestPoint } from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import { ingestPointsCounter } from '../../metrics/registry.js';
import { parsePayload, type PayloadFormat } from './payload.js';
import { compileTopicPattern, type TopicPattern } from './topic-pattern.js';
import { exponentialDelay } from '../../timing/backoff.js';
import { sleep } from '../../timing/sleep.js';

export interface MqttSubscriptionConfig {
  /** Topic pattern with named wildcards, e.g. `plants/+plant/devices/+device/telemetry`. */
  readonly topic: string;
  readonly format?: PayloadFormat;
  /** Key of the timestamp in flat JSON payloads; default `timestamp`. */
  readonly timestampField?: string;
}

export interface MqttConfig {
  /** `mqtt://host:1883`, `mqtts://host:8883`, `ws://…`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM files for TLS: the broker's CA, the client's certificate and key. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Fixed, so the broker keeps the session (and unacknowledged messages) across reconnects. */
  readonly clientId?: string;
  readonly subscriptions: readonly MqttSubscriptionConfig[];
  /** Largest payload accepted, bytes; larger ones are rejected (and acknowledged). 256 KiB. */
  readonly maxPayloadBytes?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly keepaliveS?: number;
}

/** pino's calling convention, so `app.log` fits. */
export interface MqttLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface MqttSubscriberOptions {
  readonly engine: Pick<Engine, 'ingest'>;
  readonly config: MqttConfig;
  readonly registry?: Registry;
  readonly log?: MqttLogger;
  /** Receive time for readings without a timestamp (ms). */
  readonly clock?: () => number;
}

export interface MqttSubscriber {
  readonly client: MqttClient;
  connected(): boolean;
  /** Resolves on the first successful connection (and subscription). */
  ready(): Promise<void>;
  /** Stop taking messages; unacknowledged ones stay with the broker. */
  stop(): Promise<void>;
}

interface CompiledSubscription {
  readonly pattern: TopicPattern;
  readonly format: PayloadFormat;
  readonly timestampField: string;
}

type RejectReason = 'topic' | 'too_large' | 'payload' | 'no_device' | 'points';

interface Metrics {
  readonly received: Counter;
  readonly rejected: Counter<'reason'>;
  readonly backpressure: Counter;
  readonly connected: Gauge;
  readonly reconnects: Counter;
  readonly points: Counter<'protocol' | 'result'>;
}

function metricsOn(registry: Registry): Metrics {
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    received: get(
      'vigil_mqtt_messages_received_total',
      () =>
        new Counter({
          name: 'vigil_mqtt_messages_received_total',
          help: 'MQTT messages received',
          registers: [registry],
        }),
    ),
    rejected: get(
      'vigil_mqtt_messages_rejected_total',
      () =>
        new Counter({
          name: 'vigil_mqtt_messages_rejected_total',
          help: 'MQTT messages rejected, by reason (topic, too_large, payload, no_device, points)',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    backpressure: get(
      'vigil_mqtt_backpressure_waits_total',
      () =>
        new Counter({
          name: 'vigil_mqtt_backpressure_waits_total',
          help: 'Times an MQTT message waited because the engine was full',
          registers: [registry],
        }),
    ),
    connected: get(
      'vigil_mqtt_connected',
      () =>
        new Gauge({
          name: 'vigil_mqtt_connected',
          help: '1 while connected to the MQTT broker, else 0',
          registers: [registry],
        }),
    ),
    reconnects: get(
      'vigil_mqtt_reconnects_total',
      () =>
        new Counter({
          name: 'vigil_mqtt_reconnects_total',
          help: 'Attempts to reconnect to the MQTT broker',
          registers: [registry],
        }),
    ),
    points: ingestPointsCounter(registry),
  };
}

const silent: MqttLogger = { info() {}, warn() {}, error() {} };

async function readPem(file: string | undefined, key: string): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG',
      `mqtt.${key}: cannot read ${file} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** Compile the subscriptions; throws VIGIL_ERR_CONFIG naming the bad one. */
export function compileSubscriptions(
  subscriptions: readonly MqttSubscriptionConfig[],
): CompiledSubscription[] {
  return subscriptions.map((s, i) => {
    try {
      return {
        pattern: compileTopicPattern(s.topic),
        format: s.format ?? 'auto',
        timestampField: s.timestampField ?? 'timestamp',
      };
    } catch (err) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `mqtt.subscriptions[${i}].topic ${JSON.stringify(s.topic)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });
}

/** Rejected-message logs: at most `burst` per window, then one line counting the rest. */
function rateLimited(log: MqttLogger, burst = 20, windowMs = 10_000) {
  let windowStart = 0;
  let count = 0;
  let suppressed = 0;
  return (fields: object, msg: string) => {
    const now = Date.now();
    if (now - windowStart > windowMs) {
      if (suppressed > 0) log.warn({ suppressed }, 'mqtt: more messages rejected (not logged)');
      windowStart = now;
      count = 0;
      suppressed = 0;
    }
    if (count++ < burst) log.warn(fields, msg);
    else suppressed++;
  };
}

export async function startMqttSubscriber(options: MqttSubscriberOptions): Promise<MqttSubscriber> {
  const { engine, config } = options;
  const log = options.log ?? silent;
  const clock = options.clock ?? Date.now;
  const metrics = metricsOn(options.registry ?? new Registry());
  const subscriptions = compileSubscriptions(config.subscriptions);
  if (subscriptions.length === 0) {
    throw new VigilError('VIGIL_ERR_CONFIG', 'mqtt.subscriptions: at least one is needed');
  }
  const maxPayload = config.maxPayloadBytes ?? 256 * 1024;
  const minDelay = config.reconnectMinMs ?? 1000;
  const maxDelay = Math.max(minDelay, config.reconnectMaxMs ?? 30_000);
  const backoff = { initialMs: minDelay, maxMs: maxDelay };
  const delayFor = (attempt: number) => exponentialDelay(backoff, Math.min(attempt, 30));
  const [ca, cert, key] = await Promise.all([
    readPem(config.caFile, 'ca_file'),
    readPem(config.certFile, 'cert_file'),
    readPem(config.keyFile, 'key_file'),
  ]);
  const clientOptions: IClientOptions = {
    clientId: config.clientId ?? `vigil-${process.pid}`,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: minDelay,
    connectTimeout: 10_000,
    keepalive: config.keepaliveS ?? 30,
    resubscribe: true,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
  const where = config.url.replace(/\/\/[^@/]*@/, '//');
  const client = mqtt.connect(config.url, clientOptions);
  const reject = rateLimited(log);

  let stopping = false;
  let attempt = 0;
  let refusedTimer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  /** Aborted at stop: ends the backpressure sleeps. */
  const stopped = new AbortController();
  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
  metrics.connected.set(0);

  client.on('connect', (connack) => {
    attempt = 0;
    client.options.reconnectPeriod = minDelay;
    metrics.connected.set(1);
    const filters = Object.fromEntries(
      subscriptions.map((s) => [s.pattern.filter, { qos: 1 as const }]),
    );
    client.subscribe(filters, (err, granted) => {
      if (err) {
        log.error({ err: err.message, broker: where }, 'mqtt: subscribe failed');
        return;
      }
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        log.error({ topics: refused, broker: where }, 'mqtt: broker refused the subscription');
      }
      log.info(
        {
          broker: where,
          session_present: connack.sessionPresent,
          topics: subscriptions.map((s) => s.pattern.filter),
        },
        'mqtt: connected and subscribed',
      );
      resolveReady();
    });
  });
  client.on('reconnect', () => {
    metrics.reconnects.inc();
    attempt++;
    // MQTT.js waits reconnectPeriod before each attempt: grow it for the next one.
    client.options.reconnectPeriod = delayFor(attempt);
  });
  client.on('close', () => metrics.connected.set(0));
  client.on('offline', () => log.warn({ broker: where }, 'mqtt: disconnected, reconnecting'));
  client.on('error', (err: Error & { code?: number | string }) => {
    const refused = typeof err.code === 'number';
    log.error(
      { broker: where, err: err.message, retry_in_ms: refused ? delayFor(attempt) : undefined },
      refused ? 'mqtt: broker refused the connection' : 'mqtt: connection error',
    );
    if (refused && !stopping) {
      // MQTT.js stops reconnecting after a refused CONNACK (e.g. bad credentials): the broker's
      // configuration may be fixed, so keep trying, backing off.
      clearTimeout(refusedTimer);
      refusedTimer = setTimeout(() => {
        if (stopping) return;
        metrics.reconnects.inc();
        attempt++;
        client.reconnect();
      }, delayFor(attempt));
    }
  });

  function rejected(reason: RejectReason, topic: string, why: string): void {
    metrics.rejected.inc({ reason });
    reject({ topic, reason, why }, 'mqtt: message rejected');
  }

  function pointsOf(topic: string, payload: Buffer): IngestPoint[] | undefined {
    let sub: CompiledSubscription | undefined;
    let captures: Record<string, string> | undefined;
    for (const s of subscriptions) {
      captures = s.pattern.match(topic);
      if (captures !== undefined) {
        sub = s;
        break;
      }
    }
    if (sub === undefined || captures === undefined) {
      rejected('topic', topic, 'matches no configured subscription');
      return undefined;
    }
    if (payload.length > maxPayload) {
      rejected('too_large', topic, `${payload.length} bytes, the limit is ${maxPayload}`);
      return undefined;
    }
    const readings = parsePayload(payload, sub.format, sub.timestampField);
    if (typeof readings === 'string') {
      rejected('payload', topic, readings);
      return undefined;
    }
    const { device: topicDevice, ...topicTags } = captures;
    const receivedMs = clock();
    const points: IngestPoint[] = [];
    for (const r of readings) {
      const device = topicDevice ?? r.device_id;
      if (device === undefined) {
        rejected(
          'no_device',
          topic,
          'no +device in the topic pattern and no device_id in the payload',
        );
        return undefined;
      }
      const tags = { ...r.tags, ...topicTags };
      points.push({
        timestamp: r.timestamp ?? receivedMs,
        device_id: device,
        metrics: r.metrics,
        ...(Object.keys(tags).length > 0 ? { tags } : {}),
      });
    }
    return points;
  }

  /** Resolves when the message may be acknowledged; rejects to withhold the PUBACK. */
  async function handle(packet: IPublishPacket): Promise<void> {
    metrics.received.inc();
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const points = pointsOf(topic, payload);
    if (points === undefined) return;
    for (;;) {
      if (stopping) throw new Error('stopping: message left with the broker');
      try {
        const result = await engine.ingest(points, 'mqtt');
        if (result.errors.length > 0) {
          rejected(
            'points',
            topic,
            result.errors.map((e) => `[${e.index}] ${e.message}`).join('; '),
          );
        }
        return;
      } catch (err) {
        if (!(err instanceof BackpressureError)) throw err;
        metrics.backpressure.inc();
        await sleep(Math.min(Math.max(err.retryAfterMs, 50), 5_000), stopped.signal);
      }
    }
  }

  client.handleMessage = (packet, callback) => {
    const done = handle(packet).then(
      () => callback(),
      (err: unknown) => {
        if (!stopping) {
          log.error(
            { topic: packet.topic, err: err instanceof Error ? err.message : String(err) },
            'mqtt: message not ingested, left unacknowledged for redelivery',
          );
        }
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
    inFlight = done;
  };

  return {
    client,
    connected: () => client.connected,
    ready: () => readyPromise,
    async stop() {
      stopping = true;
      clearTimeout(refusedTimer);
      stopped.abort();
      await inFlight;
      // Graceful first (the last PUBACK goes out, then DISCONNECT); forced if the broker is gone.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.endAsync(false),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000))),
      ]);
      clearTimeout(timer);
      if (!client.disconnected) await client.endAsync(true);
      metrics.connected.set(0);
    },
  };
}
