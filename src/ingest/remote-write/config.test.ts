import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveSettings } from '../../cli/serve-settings.js';
import { VigilError } from '../../errors.js';
import { remoteWriteOptions } from './config.js';

test('the remote_write config section maps onto the route options; bad keys name themselves', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-rw-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(
      file,
      [
        'remote_write:',
        '  device_label: host',
        '  tag_labels: [job, region]',
        '  drop_labels: [replica]',
        '  other_labels: drop',
        '  max_samples_per_request: 5000',
        '  max_series_per_request: 1000',
        '  max_labels_per_series: 40',
        '  max_labels_per_request: 20000',
        '  max_label_bytes: 512',
        '',
      ].join('\n'),
    );
    const settings = await resolveSettings({ config: file, demo: true }, false, {});
    assert.deepEqual(remoteWriteOptions(settings.file.remote_write ?? {}), {
      mapping: {
        deviceLabel: 'host',
        tagLabels: ['job', 'region'],
        dropLabels: ['replica'],
        otherLabels: 'drop',
      },
      limits: {
        maxSamples: 5000,
        maxSeries: 1000,
        maxLabelsPerSeries: 40,
        maxLabelsPerRequest: 20000,
        maxLabelBytes: 512,
      },
    });

    await writeFile(file, 'remote_write:\n  other_labels: keep\n  device_lable: host\n');
    await assert.rejects(
      resolveSettings({ config: file, demo: true }, false, {}),
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_CONFIG' &&
        /remote_write\.other_labels/.test(err.message) &&
        /remote_write: unknown key "device_lable"/.test(err.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
