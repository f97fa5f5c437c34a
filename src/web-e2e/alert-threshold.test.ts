/**
 * The alert threshold over time in Chromium: a service scores a series and stops; a second one on
 * the same storage, which has scored nothing, draws that series' threshold as two dashed lines in
 * the value lane (from storage), with a legend entry and values in the metric's unit, in light
 * and dark mode and at 390 px. A detector without a band, and a series still warming up, get none.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { artifactDir, launchBrowser, openPage } from './browser.js';
import { startService, type TestService } from './service.js';
import { calm, zscoreStrategy } from './session.js';

const ZSCORE = zscoreStrategy({
  name: 'e2e-threshold',
  description: 'threshold test devices, online z-score',
  devices: 'thr-*',
});
/** Half-space trees: scores by rarity, no band in value space. */
const TREES = `name: e2e-no-band
version: 1
description: no band, half-space trees
trigger_rules:
  - device: "nob-*"
detector:
  kind: half-space-trees
threshold:
  kind: static
`;

const WAIT = { timeout: 60_000 };
/** Twenty minutes of 1 Hz points ending a minute ago. */
const base = Math.floor(Date.now() / 60_000) * 60_000 - 21 * 60_000;
const end = base + 20 * 60_000;

function points(device: string, n: number): IngestPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    timestamp: base + i * 1000,
    device_id: device,
    metrics: { temp: calm(i) },
  }));
}

interface ScoresAnswer {
  times: number[];
  stored_before: number;
  threshold_lower: (number | null)[];
  threshold_upper: (number | null)[];
}

/** Pixels of the plot's canvas within 14 of `rgb` in every channel. */
const pixelsOf = (page: Page, [r, g, b]: readonly [number, number, number]) =>
  page.evaluate(`(() => {
    const canvas = document.querySelector('.chart canvas');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - ${r}) <= 14 && Math.abs(data[i + 1] - ${g}) <= 14 &&
          Math.abs(data[i + 2] - ${b}) <= 14) n++;
    }
    return n;
  })()`) as Promise<number>;

const chartData = (page: Page) =>
  page.evaluate(`({ ...document.querySelector('.chart').dataset })`) as Promise<
    Record<string, string>
  >;

let store: Store;
let browser: Browser;
let service: TestService;
let shots: string;

describe(
  'the alert threshold over time, after a restart, in Chromium',
  { timeout: 300_000 },
  () => {
    before(async () => {
      [store, browser, shots] = await Promise.all([openStore(), launchBrowser(), artifactDir()]);
      const first = await startService([ZSCORE, TREES], [], { store });
      // The live feed passes 1,000 `ok` scores a second, thresholds included: under that each
      // second, so every series has all its minutes in the history.
      const second = () => new Promise((resolve) => setTimeout(resolve, 1_100));
      await first.send(points('nob-1', 600));
      await second();
      await first.send(points('thr-warm', 20)); // fewer than the z-score's 30 warm-up points
      await second();
      const thr = points('thr-1', 1200);
      await first.send(thr.slice(0, 600));
      await first.engine.flush();
      await second();
      await first.send(thr.slice(600));
      await first.engine.flush();
      const unit = await fetch(`${first.url}/v1/units/temp`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ unit: '°C' }),
      });
      assert.equal(unit.status, 200);
      await first.stop();
      service = await startService([ZSCORE, TREES], [], { store });
    });
    after(async () => {
      await service?.stop();
      await browser?.close();
      await store?.close();
    });

    const scoresOf = async (device: string): Promise<ScoresAnswer> => {
      const res = await fetch(
        `${service.url}/v1/scores?device=${device}&metric=temp&from=${base}&to=${end}&bucket=1m`,
      );
      assert.equal(res.status, 200);
      return (await res.json()) as ScoresAnswer;
    };

    test('stored per minute: for the z-score series once warm, none without a band or warm-up', async () => {
      const thr = await scoresOf('thr-1');
      assert.equal(thr.times.length, 20);
      assert.ok(
        thr.times.every((t) => t < thr.stored_before),
        'all from storage',
      );
      // The first minute's first point is still warming up; every later minute has one.
      assert.equal(thr.threshold_lower[0], null);
      for (let m = 1; m < 20; m++) {
        const lo = thr.threshold_lower[m];
        const hi = thr.threshold_upper[m];
        assert.ok(typeof lo === 'number' && typeof hi === 'number' && lo < 20 && hi > 20, `${m}`);
      }
      for (const device of ['nob-1', 'thr-warm']) {
        const none = await scoresOf(device);
        assert.ok(none.times.length > 0, device);
        assert.ok(
          none.threshold_lower.every((v) => v === null),
          device,
        );
        assert.ok(
          none.threshold_upper.every((v) => v === null),
          device,
        );
      }
    });

    for (const mode of [
      { name: 'light, 1440 px', colorScheme: 'light', width: 1440, rgb: [198, 40, 40] },
      { name: 'dark, 390 px', colorScheme: 'dark', width: 390, rgb: [255, 138, 128] },
    ] as const) {
      test(`drawn as two dashed lines with a legend entry (${mode.name})`, async () => {
        const { page, errors } = await openPage(browser, {
          viewport: { width: mode.width, height: 844 },
          colorScheme: mode.colorScheme,
        });
        await page.goto(`${service.url}/#/series/thr-1/temp?from=${base}&to=${end}`);
        await page.locator('figcaption p', { hasText: 'buckets of' }).waitFor(WAIT);
        await page.waitForFunction(
          `Number(document.querySelector('.chart')?.dataset.thresholdBuckets) > 0 && document.querySelector('.chart')?.dataset.unit === '°C'`,
          undefined,
          WAIT,
        );
        const d = await chartData(page);
        const buckets = Number(
          (await page.locator('figcaption p').innerText()).match(/(\d+) buckets/)?.[1],
        );
        // Every bucket after the first minute (warm-up) has its minute's threshold.
        assert.ok(
          Number(d.thresholdBuckets) >= buckets * 0.85,
          `${d.thresholdBuckets} of ${buckets}`,
        );
        const drawn = await pixelsOf(page, mode.rgb);
        assert.ok(drawn > 50, `threshold-coloured pixels: ${drawn}`);
        const legend = page.locator('.u-legend');
        assert.match(await legend.innerText(), /alert threshold/);
        const box = await page.locator('.chart .u-over').boundingBox();
        assert.ok(box !== null);
        await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.3);
        await page.waitForFunction(
          `/\\d – [\\d.-]+ °C/.test(document.querySelector('.u-legend')?.innerText ?? '')`,
          undefined,
          WAIT,
        );
        const overflow = (await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        )) as number;
        assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
        await page.screenshot({
          path: path.join(shots, `alert-threshold-${mode.colorScheme}-${mode.width}.png`),
        });
        assert.deepEqual(errors, []);
        await page.context().close();
      });
    }

    test('a detector without a band draws no threshold', async () => {
      const { page, errors } = await openPage(browser);
      await page.goto(`${service.url}/#/series/nob-1/temp?from=${base}&to=${end}`);
      await page.locator('figcaption p', { hasText: 'buckets of' }).waitFor(WAIT);
      await page.waitForFunction(
        `document.querySelector('.chart')?.dataset.thresholdBuckets !== undefined`,
        undefined,
        WAIT,
      );
      assert.equal((await chartData(page)).thresholdBuckets, '0');
      assert.equal(await pixelsOf(page, [198, 40, 40]), 0);
      assert.deepEqual(errors, []);
      await page.context().close();
    });
  },
);
