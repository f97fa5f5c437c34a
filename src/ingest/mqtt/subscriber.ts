/**
 * MQTT ingest (docs/integrations-influx-mqtt.md): subscribes to the configured topic patterns
 * (QoS 1, persistent session) and sends a message's PUBACK only once `engine.ingest` made its
 * points durable, so the broker redelivers whatever a crash left unacknowledged. Messages that
 * arrive while earlier ones are being placed share one ingest call (group-commit.ts), and the
 * PUBACKs leave in arrival order. On backpressure the group waits and, once too many messages
 * wait, reading pauses; a bad payload is counted, logged and acknowledged; reconnects back off.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Registry, type Counter, type Gauge } from 'prom-client';
import type { Engine, IngestPoint } from '../../engine/engine.js';
import { VigilError } from '../../errors.js';
import { counter, gauge } from '../../metrics/registry.js';
import { parsePayload } from './payload.js';
import { compileSubscriptions, type MqttSubscriptionConfig } from './subscriptions.js';
import { exponentialDelay } from '../../timing/backoff.js';
import { GroupCommit } from './group-commit.js';
import { TopicRoutes } from './topic-routes.js';
import type { MetricUnitStore } from '../../store/store.js';
import { InferredUnitRecorder, type InferredUnit } from '../../server/unit-recorder.js';

/**
 * Passed to MQTT.js's handleMessage callback: it then sends no PUBACK and reads the next
 * message (the subscriber acknowledges the message itself once durable).
 */
const DEFERRED = new Error('acknowledged by the group commit');

/** Most declared units waiting to be stored (they are metadata: past it, dropped). */
const MAX_QUEUED_UNITS = 50_000;

/** The points of a rejected message (acknowledged in its turn, nothing stored). */
const NO_POINTS: readonly IngestPoint[] = Object.freeze([]);

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
  /** Most messages in one durable group commit (one engine.ingest). 2,000. */
  readonly maxGroupMessages?: number;
  /** Messages received and not yet handed to the engine before reading pauses. 10,000. */
  readonly maxWaitingMessages?: number;
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
  /** Where the units payloads declare go (as inferred units); none: they are not stored. */
  readonly units?: Pick<MetricUnitStore, 'setInferred'>;
}

export interface MqttSubscriber {
  readonly client: MqttClient;
  connected(): boolean;
  /** Resolves on the first successful connection (and subscription). */
  ready(): Promise<void>;
  /** Stop taking messages; unacknowledged ones stay with the broker. */
  stop(): Promise<void>;
}

type RejectReason = 'topic' | 'too_large' | 'payload' | 'no_device' | 'points';

interface Metrics {
  readonly received: Counter;
  readonly rejected: Counter<'reason'>;
  readonly backpressure: Counter;
  readonly connected: Gauge;
  readonly reconnects: Counter;
}

function metricsOn(registry: Registry): Metrics {
  return {
    received: counter(registry, 'vigil_mqtt_messages_received_total', 'MQTT messages received', []),
    rejected: counter(
      registry,
      'vigil_mqtt_messages_rejected_total',
      'MQTT messages rejected, by reason (topic, too_large, payload, no_device, points)',
      ['reason'],
    ),
    backpressure: counter(
      registry,
      'vigil_mqtt_backpressure_waits_total',
      'Times an MQTT message waited because the engine was full',
      [],
    ),
    connected: gauge(registry, {
      name: 'vigil_mqtt_connected',
      help: '1 while connected to the MQTT broker, else 0',
    }),
    reconnects: counter(
      registry,
      'vigil_mqtt_reconnects_total',
      'Attempts to reconnect to the MQTT broker',
      [],
    ),
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
    // MQTT.js logs every packet through `debug`; without DEBUG=mqttjs* that is wasted per-message
    // work, so it gets a no-op logger then.
    ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: () => {} }),
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
  /** Set once stopped: no acknowledgement is written after. */
  let stopAcks = false;
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

  const routes = new TopicRoutes(subscriptions);
  const unitRecorder =
    options.units === undefined ? undefined : new InferredUnitRecorder(options.units);
  /**
   * One write of units at a time, after their message is durable; failures are logged. Units
   * are metadata: past MAX_QUEUED_UNITS waiting (a publisher declaring new units faster than the
   * store takes them), more are dropped rather than held in memory.
   */
  let unitWrites = Promise.resolve();
  let queuedUnits = 0;
  let droppedUnits = false;
  let unitWriteFailed = false;
  function recordUnits(units: readonly InferredUnit[]): void {
    if (unitRecorder === undefined) return;
    if (queuedUnits + units.length > MAX_QUEUED_UNITS) {
      if (!droppedUnits)
        log.warn(
          { units: queuedUnits },
          'mqtt: too many units waiting to be stored; dropping the newest',
        );
      droppedUnits = true;
      return;
    }
    droppedUnits = false;
    queuedUnits += units.length;
    unitWrites = unitWrites
      .then(() => unitRecorder.record(units))
      .then(
        () => {
          unitWriteFailed = false;
        },
        (err: unknown) => {
          // Once per outage of the store, not once per message.
          if (!unitWriteFailed) {
            log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'mqtt: storing the units a payload declared failed',
            );
          }
          unitWriteFailed = true;
        },
      )
      .finally(() => {
        queuedUnits -= units.length;
      });
  }
  /** The units the message `pointsOf` read last declared (undefined: none). */
  let declaredUnits: InferredUnit[] | undefined;

  function pointsOf(topic: string, payload: Buffer): IngestPoint[] | undefined {
    declaredUnits = undefined;
    const route = routes.route(topic);
    if (route === undefined) {
      rejected('topic', topic, 'matches no configured subscription');
      return undefined;
    }
    if (payload.length > maxPayload) {
      rejected('too_large', topic, `${payload.length} bytes, the limit is ${maxPayload}`);
      return undefined;
    }
    const sub = route.subscription;
    const readings = parsePayload(payload, sub.format, sub.timestampField);
    if (typeof readings === 'string') {
      rejected('payload', topic, readings);
      return undefined;
    }
    const topicTags = route.tags;
    let receivedMs: number | undefined;
    const points: IngestPoint[] = [];
    for (const r of readings) {
      if (r.units !== undefined) {
        declaredUnits ??= [];
        for (const [metric, unit] of Object.entries(r.units)) {
          declaredUnits.push({ metric, unit, description: null });
        }
      }
      const device = route.device ?? r.device_id;
      if (device === undefined) {
        rejected(
          'no_device',
          topic,
          'no +device in the topic pattern and no device_id in the payload',
        );
        return undefined;
      }
      // Topic captures win over payload tags of the same name.
      const tags =
        r.tags === undefined
          ? topicTags
          : topicTags === undefined
            ? r.tags
            : { ...r.tags, ...topicTags };
      const timestamp = r.timestamp ?? (receivedMs ??= clock());
      points.push(
        tags !== undefined && Object.keys(tags).length > 0
          ? { timestamp, device_id: device, metrics: r.metrics, tags }
          : { timestamp, device_id: device, metrics: r.metrics },
      );
    }
    return points;
  }

  /** One message in a group: what its acknowledgement needs (a plain record, no closures). */
  interface Pending {
    readonly points: readonly IngestPoint[];
    readonly topic: string;
    /** Undefined: nothing to acknowledge (QoS 0). */
    readonly messageId: number | undefined;
    /** The connection it came by. */
    readonly on: number;
    /** Units its payload declared, stored once the message is durable. */
    readonly units: readonly InferredUnit[] | undefined;
  }

  const group = new GroupCommit<Pending>({
    ingest: (points, onQueued) => engine.ingest(points, 'mqtt', onQueued),
    durable(m, errors) {
      if (errors.length > 0 && m.points.length > 0) {
        rejected('points', m.topic, errors.map((e) => `[${e.index}] ${e.message}`).join('; '));
      }
      if (m.messageId !== undefined) puback(m.messageId, m.on);
      if (m.units !== undefined && m.points.length > 0) recordUnits(m.units);
    },
    failed: (m, err) => failed(m.topic, err),
    maxMessages: config.maxGroupMessages ?? 2_000,
    maxWaiting: config.maxWaitingMessages ?? 10_000,
    onBackpressure: () => metrics.backpressure.inc(),
    signal: stopped.signal,
  });
  /** Counts connections: an acknowledgement is only sent on the connection its message came by. */
  let connection = 0;
  client.on('connect', () => connection++);
  client.on('close', () => {
    // Messages not yet handed to the engine: the broker redelivers them on the next session.
    group.drop();
  });

  /**
   * PUBACKs due, in order, and the connection they belong to. A durable group acknowledges all
   * its messages synchronously: they are gathered here and leave in one socket write (a
   * microtask later) instead of one write per message.
   */
  let dueAcks: number[] = [];
  let dueOn = 0;
  let flushQueued = false;

  /** PUBACK, 4 bytes, the same in MQTT 3.1.1 and 5 (success, no properties): queued in order. */
  function puback(messageId: number, on: number): void {
    if (on !== dueOn) {
      flushAcks();
      dueOn = on;
    }
    dueAcks.push(messageId);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flushAcks);
    }
  }

  /** Write the queued PUBACKs as one buffer (dropped if their connection is gone). */
  function flushAcks(): void {
    flushQueued = false;
    const ids = dueAcks;
    if (ids.length === 0) return;
    dueAcks = [];
    if (dueOn !== connection || !client.connected || stopAcks) return;
    const packets = Buffer.allocUnsafe(ids.length * 4);
    for (let i = 0, at = 0; i < ids.length; i++, at += 4) {
      const id = ids[i]!;
      packets[at] = 0x40;
      packets[at + 1] = 0x02;
      packets[at + 2] = id >> 8;
      packets[at + 3] = id & 0xff;
    }
    client.stream.write(packets);
  }

  function failed(topic: string, err: unknown): void {
    if (stopping) return;
    log.error(
      { topic, err: err instanceof Error ? err.message : String(err) },
      'mqtt: message not ingested, left unacknowledged for redelivery',
    );
  }

  /**
   * MQTT.js hands over one message at a time and reads the next only after `callback`, which
   * would send the PUBACK at once: so the message joins a group and the callback is called with
   * DEFERRED (MQTT.js then sends nothing), the PUBACK following once the group is durable. The
   * callback is held (reading pauses) while too many messages wait for the engine.
   */
  client.handleMessage = (packet, callback) => {
    metrics.received.inc();
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const points = pointsOf(topic, payload);
    const ack = packet.qos === 1 && packet.messageId !== undefined;
    const messageId = ack ? packet.messageId : undefined;
    if (points === undefined || stopping) {
      // Rejected: acknowledged in order behind the messages before it. Stopping: left unacked.
      if (points === undefined && ack && !stopping) {
        group.add({ points: NO_POINTS, topic, messageId, on: connection, units: undefined });
      }
      callback(ack || stopping ? DEFERRED : undefined);
      return;
    }
    group.add({ points, topic, messageId, on: connection, units: declaredUnits });
    if (!group.full()) callback(ack ? DEFERRED : undefined);
    else void group.room().then(() => callback(ack ? DEFERRED : undefined));
  };

  return {
    client,
    connected: () => client.connected,
    ready: () => readyPromise,
    async stop() {
      stopping = true;
      clearTimeout(refusedTimer);
      stopped.abort();
      group.drop();
      await group.settled();
      await unitWrites;
      flushAcks();
      stopAcks = true;
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
