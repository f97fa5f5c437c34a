import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../../errors.js';
import { mqttConfig, mqttSchema } from './config.js';

test('the mqtt config section maps onto the subscriber config; the password may come from the environment', () => {
  const section = mqttSchema.parse({
    url: 'mqtt://broker:1883',
    client_id: 'vigil-1',
    subscriptions: [
      { topic: 'plants/+plant/devices/+device/telemetry', format: 'json', timestamp_field: 'ts' },
      { topic: 'compact/+device' },
    ],
    reconnect_max_ms: 5000,
  });
  assert.deepEqual(mqttConfig(section, { VIGIL_MQTT_PASSWORD: 'secret' }), {
    url: 'mqtt://broker:1883',
    subscriptions: [
      { topic: 'plants/+plant/devices/+device/telemetry', format: 'json', timestampField: 'ts' },
      { topic: 'compact/+device' },
    ],
    password: 'secret',
    clientId: 'vigil-1',
    reconnectMaxMs: 5000,
  });
  const own = mqttConfig({ ...section, password: 'in-file' }, { VIGIL_MQTT_PASSWORD: 'secret' });
  assert.equal(own.password, 'in-file');
});

test('a bad topic pattern is VIGIL_ERR_CONFIG naming the subscription and the level', () => {
  const section = mqttSchema.parse({
    url: 'mqtt://broker',
    subscriptions: [{ topic: 'ok/+device' }, { topic: 'a/#rest/b' }],
  });
  assert.throws(
    () => mqttConfig(section, {}),
    (err: unknown) =>
      err instanceof VigilError &&
      err.code === 'VIGIL_ERR_CONFIG' &&
      /^mqtt\.subscriptions\[1\]\.topic "a\/#rest\/b": level 2 "#rest": # must be the last level$/.test(
        err.message,
      ),
  );
});
