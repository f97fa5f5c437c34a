/**
 * MQTT QoS 1 through the broker to Vigil's subscription: the publisher's ack is the broker's
 * PUBACK (the broker then holds the message for Vigil's persistent session, which Vigil
 * acknowledges only once durable), so MQTT's acked points reach the store after a restart by
 * redelivery, not by the client retrying.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { ChaosPoint } from '../points.js';
import { Transient, type Sender } from './sender.js';

export function mqttSender(brokerUrl: string, topic: string, clientId: string): Sender {
  const client: MqttClient = mqtt.connect(brokerUrl, {
    clientId,
    clean: true,
    reconnectPeriod: 500,
  });
  return {
    async send(points: readonly ChaosPoint[]) {
      const payload = JSON.stringify(
        points.map((p) => ({
          timestamp: p.time,
          device_id: p.device,
          metrics: { [p.metric]: p.value },
        })),
      );
      try {
        await client.publishAsync(topic, payload, { qos: 1 });
      } catch (err) {
        throw new Transient(`mqtt: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async close() {
      await client.endAsync();
    },
  };
}
