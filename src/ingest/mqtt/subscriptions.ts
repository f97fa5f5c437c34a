/**
 * MQTT subscriptions as configured (topic pattern, payload format, timestamp key) and compiled,
 * without MQTT.js, so the config can be checked before anything starts.
 */
import { VigilError } from '../../errors.js';
import type { PayloadFormat } from './payload.js';
import { compileTopicPattern, type TopicPattern } from './topic-pattern.js';

export interface MqttSubscriptionConfig {
  /** Topic pattern with named wildcards, e.g. `plants/+plant/devices/+device/telemetry`. */
  readonly topic: string;
  readonly format?: PayloadFormat;
  /** Key of the timestamp in flat JSON payloads; default `timestamp`. */
  readonly timestampField?: string;
}

export interface CompiledSubscription {
  readonly pattern: TopicPattern;
  readonly format: PayloadFormat;
  readonly timestampField: string;
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
