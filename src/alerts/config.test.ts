import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveSettings } from '../cli/serve-settings.js';
import { VigilError } from '../errors.js';
import { alertSettings } from './config.js';

async function withConfig(yaml: string, check: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-alerts-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(file, yaml);
    await check(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('alerts configuration', () => {
  it('applies the defaults (SEED-SPEC §9 breaker) and reads secrets from the environment', () => {
    const s = alertSettings(
      {
        alertmanager: { urls: ['http://am:9093'] },
        webhooks: [{ url: 'http://hook', secret_env: 'HOOK_SECRET' }],
      },
      'http://127.0.0.1:8080',
      { HOOK_SECRET: 'sixteen-chars-or-more' },
    );
    assert.equal(s.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(s.groupingWindowMs, 300_000);
    assert.equal(s.alertmanager?.resendIntervalMs, 60_000);
    assert.equal(s.alertmanager?.alertname, 'VigilAnomaly');
    const [hook] = s.webhooks;
    assert.equal(hook?.name, 'webhook-0');
    assert.equal(hook?.secret, 'sixteen-chars-or-more');
    assert.deepEqual(hook?.breaker, {
      windowSize: 100,
      failureRatio: 0.5,
      minCalls: 100,
      openMs: 60_000,
    });
    assert.equal(hook?.retry.maxAttempts, 5);
  });

  it('names the key of every problem, in the file and across fields', async () => {
    await withConfig(
      [
        'alerts:',
        '  alertmanager:',
        '    urls: [am:9093]',
        '  webhooks:',
        '    - url: http://hook',
        '      secret: short',
        '      retries: 3',
        '    - url: http://hook',
        '',
      ].join('\n'),
      async (file) => {
        await assert.rejects(resolveSettings({ config: file, demo: true }, false, {}), (err) => {
          assert.ok(err instanceof VigilError);
          assert.equal(err.code, 'VIGIL_ERR_CONFIG');
          assert.match(err.message, /alerts\.alertmanager\.urls\.0: expected an http/);
          assert.match(err.message, /alerts\.webhooks\.0\.secret: use a secret of at least 16/);
          assert.match(err.message, /alerts\.webhooks\.0: unknown key "retries"/);
          assert.match(
            err.message,
            /alerts\.webhooks\.1: give exactly one of secret and secret_env/,
          );
          return true;
        });
      },
    );
    assert.throws(
      () =>
        alertSettings(
          {
            webhooks: [
              { name: 'a', url: 'http://x', secret_env: 'MISSING' },
              {
                name: 'a',
                url: 'http://y',
                secret: 'sixteen-chars-or-more',
                breaker: { window: 5, min_calls: 9 },
              },
            ],
          },
          'http://v',
          {},
        ),
      (err: unknown) => {
        assert.ok(err instanceof VigilError);
        assert.match(err.message, /alerts\.webhooks\.0\.secret_env: environment variable MISSING/);
        assert.match(err.message, /alerts\.webhooks\.1\.name: sink name "a" is used twice/);
        assert.match(
          err.message,
          /alerts\.webhooks\.1\.breaker: min_calls \(9\) is above window \(5\)/,
        );
        return true;
      },
    );
  });
});
