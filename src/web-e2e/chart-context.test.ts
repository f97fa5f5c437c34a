/**
 * The series chart's context, in Chromium against the real service: times are 24-hour in the
 * operator's zone with the zone shown, switchable to UTC and remembered; the x-axis labels never
 * touch; the score has its own lane below the values; a double-click after a drag-zoom goes back
 * to the range before it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { openPage } from './browser.js';
import type { TestService } from './service.js';
import { calm, endBrowserSession, startBrowserSession, zscoreStrategy } from './session.js';

const STRATEGY = zscoreStrategy({
  name: 'e2e-chart',
  description: 'chart test devices, online z-score',
  devices: 'chart-*',
});

const DEVICE = 'chart-1';
const WAIT = { timeout: 60_000 };
/** 20 minutes of points at 1 Hz ending now; an afternoon hour in Berlin is 13 or more, never "PM". */
const end = Math.floor(Date.now() / 1000) * 1000;
const base = end - 1_200_000;

function points(): IngestPoint[] {
  return Array.from({ length: 1200 }, (_, i) => ({
    timestamp: base + i * 1000,
    device_id: DEVICE,
    metrics: { temp: i === 1000 ? 60 : calm(i) },
  }));
}

let service: TestService;
let browser: Browser;
let shots: string;

const chartData = (page: Page) =>
  page.evaluate(`({ ...document.querySelector('.chart').dataset })`) as Promise<
    Record<string, string>
  >;

async function loaded(page: Page, hash: string): Promise<void> {
  await page.goto(`${service.url}/${hash}`);
  await page.locator('figcaption p', { hasText: 'buckets of' }).waitFor(WAIT);
  await page.waitForFunction(`!!document.querySelector('.chart')?.dataset.xTicks`, undefined, WAIT);
}

describe('chart context, in Chromium', { timeout: 300_000 }, () => {
  before(async () => {
    ({ service, browser, shots } = await startBrowserSession([STRATEGY]));
    await service.send(points());
    await service.engine.flush();
  });

  after(() => endBrowserSession({ browser, service }));

  test('times in the operator zone, shown; switched to UTC and remembered', async () => {
    const { page, errors } = await openPage(browser, { timezoneId: 'Europe/Berlin' });
    const from = base;
    const to = end;
    await loaded(page, `#/series/${DEVICE}/temp?from=${from}&to=${to}`);
    const zone = page.locator('#zone');
    assert.match(await zone.innerText(), /^Times: Europe\/Berlin \(UTC\+0[12]:00\)$/);
    const caption = await page.locator('figcaption p').innerText();
    assert.match(caption, /Europe\/Berlin/);
    const hourIn = (ms: number, tz: string) =>
      new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(
        ms,
      );
    assert.ok(caption.includes(` ${hourIn(to, 'Europe/Berlin')}:`), caption);
    assert.doesNotMatch(caption, /\b(AM|PM)\b/);
    const ticks = (await chartData(page)).xTicks ?? '';
    assert.match(ticks, /^(\d\d-\d\d )?\d\d:\d\d(\|\d\d:\d\d(:\d\d)?|\|\d\d-\d\d \d\d:\d\d)*$/);

    await zone.click();
    assert.equal(await zone.innerText(), 'Times: UTC');
    await page.locator('figcaption p', { hasText: 'UTC ·' }).waitFor(WAIT);
    const utcCaption = await page.locator('figcaption p').innerText();
    assert.ok(utcCaption.includes(` ${hourIn(to, 'UTC')}:`), utcCaption);
    await page.reload();
    await page.locator('#zone', { hasText: 'Times: UTC' }).waitFor(WAIT);
    assert.equal(await page.evaluate(`localStorage.getItem('vigil.timeZone')`), 'utc');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the events filter reads its times as YYYY-MM-DD HH:MM in the zone shown', async () => {
    const { page, errors } = await openPage(browser, { timezoneId: 'Europe/Berlin' });
    await page.goto(`${service.url}/#/events`);
    const field = page.getByLabel(/^From \(UTC\+0[12]:00\)$/);
    await field.waitFor(WAIT);
    assert.equal(await field.getAttribute('placeholder'), 'YYYY-MM-DD HH:MM');
    await field.fill('2026-07-01 14:30');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/from=/, WAIT);
    // 14:30 in Berlin's summer time is 12:30 UTC.
    assert.equal(
      new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('from'),
      String(Date.UTC(2026, 6, 1, 12, 30)),
    );
    assert.equal(await page.getByLabel(/^From/).inputValue(), '2026-07-01 14:30');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('x-axis labels never touch, at a laptop and a phone width', async () => {
    for (const viewport of [
      { width: 1366, height: 768 },
      { width: 390, height: 844 },
    ]) {
      const { page } = await openPage(browser, { viewport });
      for (const span of [15 * 60_000, 20 * 60_000, 60 * 60_000]) {
        await loaded(page, `#/series/${DEVICE}/temp?from=${end - span}&to=${end}`);
        const d = await chartData(page);
        const labels = (d.xTicks ?? '').split('|');
        const widest = (await page.evaluate(
          `(() => { const c = document.createElement('canvas').getContext('2d');
            c.font = '12px ' + getComputedStyle(document.body).fontFamily;
            return Math.max(...${JSON.stringify(labels)}.map((l) => c.measureText(l).width)); })()`,
        )) as number;
        const gap = Number(d.xTickGap);
        // A phone's narrow plot may fit one label only; two or more never touch.
        assert.ok(labels.length >= 1 && labels[0] !== '', `${viewport.width}px: no labels`);
        if (labels.length >= 2) {
          assert.ok(
            gap > widest + 8,
            `${viewport.width}px: ticks ${gap} px apart, labels ${widest} px`,
          );
        }
      }
      await page.context().close();
    }
  });

  test('the score has its own lane below the values', async () => {
    const { page } = await openPage(browser);
    await loaded(page, `#/series/${DEVICE}/temp?from=${base}&to=${end}`);
    const d = await chartData(page);
    assert.ok(
      Number(d.scoreLaneTop) > Number(d.valueLaneBottom),
      `score lane from ${d.scoreLaneTop} px, values down to ${d.valueLaneBottom} px`,
    );
    await page.screenshot({ path: path.join(shots, 'chart-lanes.png') });
    await page.context().close();
  });

  test('a double-click after a drag-zoom goes back to the range before it', async () => {
    const { page, errors } = await openPage(browser);
    await loaded(page, `#/series/${DEVICE}/temp?from=${base}&to=${end}`);
    const before = await chartData(page);
    const over = page.locator('.chart .u-over');
    const box = await over.boundingBox();
    assert.ok(box);
    const y = box.y + box.height / 3;
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(
      `document.querySelector('.chart').dataset.from !== ${JSON.stringify(before.from)}`,
      undefined,
      WAIT,
    );
    const zoomed = await chartData(page);
    assert.ok(Number(zoomed.to) - Number(zoomed.from) < Number(before.to) - Number(before.from));
    await over.dblclick({ position: { x: box.width / 2, y: box.height / 3 } });
    await page.waitForFunction(
      `document.querySelector('.chart').dataset.from === ${JSON.stringify(before.from)}`,
      undefined,
      WAIT,
    );
    assert.equal((await chartData(page)).to, before.to);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
