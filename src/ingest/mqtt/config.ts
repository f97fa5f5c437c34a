/**
 * The `mqtt` section of `vigil serve`'s config file (docs/integrations-influx-mqtt.md): its
 * schema, and the subscriber's config from it, topic patterns checked (VIGIL_ERR_CONFIG names
 * the bad one). The password may come from `VIGIL_MQTT_PASSWORD` instead of the file.
 */
import { z } from 'zod';
import { defined } from '../../data/defined.js';
import type { MqttConfig } from './subscriber.js';
import { compileSubscriptions } from './subscriptions.js';

const positive = z.number().int().positive();

export const mqttSchema = z
  .object({
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|tls):\/\//, 'expected mqtt://, mqtts://, ws:// or wss://'),
    username: z.string().optional(),
    password: z.string().optional(),
    ca_file: z.string().min(1).optional(),
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    client_id: z.string().min(1).max(128).optional(),
    subscriptions: z
      .array(
        z
          .object({
            topic: z.string().min(1),
            format: z.enum(['json', 'compact', 'auto']).optional(),
            timestamp_field: z.string().min(1).optional(),
          })
          .strict(),
      )
      .min(1),
    max_payload_bytes: positive.optional(),
    reconnect_min_ms: positive.optional(),
    reconnect_max_ms: positive.optional(),
    keepalive_s: positive.optional(),
  })
  .strict();

export type MqttFileConfig = z.infer<typeof mqttSchema>;

export function mqttConfig(
  config: MqttFileConfig,
  env: NodeJS.ProcessEnv = process.env,
): MqttConfig {
  const subscriptions = config.subscriptions.map((sub) => ({
    topic: sub.topic,
    ...defined({ format: sub.format, timestampField: sub.timestamp_field }),
  }));
  compileSubscriptions(subscriptions);
  return {
    url: config.url,
    subscriptions,
    ...defined({
      username: config.username,
      password: config.password ?? env.VIGIL_MQTT_PASSWORD,
      caFile: config.ca_file,
      certFile: config.cert_file,
      keyFile: config.key_file,
      clientId: config.client_id,
      maxPayloadBytes: config.max_payload_bytes,
      reconnectMinMs: config.reconnect_min_ms,
      reconnectMaxMs: config.reconnect_max_ms,
      keepaliveS: config.keepalive_s,
    }),
  };
}
