/**
 * The series view's score history survives a restart: a service scores a series and stops; a
 * second service on the same storage, which has scored nothing, shows that series' scores when
 * its page opens (from storage, one per minute).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { launchBrowser, openPage } from './browser.js';
import { startService } from './service.js';
import { calm, zscoreStrategy } from './session.js';

const STRATEGY = zscoreStrategy({
  name: 'e2e-restart',
  description: 'restart test devices, online z-score',
  devices: 'restart-*',
});

const DEVICE = 'restart-1';
const WAIT = { timeout: 30_000 };
/** Five minutes of 1 Hz points ending a minute ago, with a spike near the end. */
const base = Math.floor(Date.now() / 1000) * 1000 - 360_000;

function points(): IngestPoint[] {
  return Array.from({ length: 300 }, (_, i) => ({
    timestamp: base + i * 1000,
    device_id: DEVICE,
    metrics: { temp: i === 280 ? 90 : calm(i) },
  }));
}

interface ScoresAnswer {
  times: number[];
  score: number[];
  level: string[];
  stored_before: number;
}

let store: Store;
let browser: Browser;

describe('score history across a restart, in Chromium', { timeout: 180_000 }, () => {
  before(async () => {
    [store, browser] = await Promise.all([openStore(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await store?.close();
  });

  test('a restarted service shows the scores the first one published', async () => {
    const first = await startService([STRATEGY], [], { store });
    await first.send(points());
    await first.engine.flush();
    await first.stop();

    const second = await startService([STRATEGY], [], { store });
    try {
      const { page, errors } = await openPage(browser);
      const answer = page.waitForResponse((r) => r.url().includes('/v1/scores?'), WAIT);
      await page.goto(`${second.url}/#/series/${DEVICE}/temp`);
      const scores = (await (await answer).json()) as ScoresAnswer;
      await page.locator('figcaption p').filter({ hasText: 'buckets of' }).waitFor(WAIT);
      // Five minutes of scores, one a minute, the spike's minute flagged; none scored since start.
      assert.ok(scores.times.length >= 5, JSON.stringify(scores));
      assert.ok(scores.times.every((t) => t < scores.stored_before));
      assert.ok(
        scores.level.includes('severe') || scores.level.includes('alert'),
        scores.level.join(),
      );
      assert.deepEqual(errors, []);
    } finally {
      await second.stop();
    }
  });
});
