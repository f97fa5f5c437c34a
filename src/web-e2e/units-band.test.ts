/**
 * Units and the expected band in Chromium against the real service: a unit declared over the
 * API labels the value axis, the legend's values and the event page's values; the expected
 * band over time is shaded behind the values.
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
  name: 'e2e-units',
  description: 'unit test devices, online z-score',
  devices: 'unit-*',
});

const DEVICE = 'unit-1';
const WAIT = { timeout: 60_000 };
const end = Math.floor(Date.now() / 1000) * 1000;
const base = end - 1_800_000;

/** 30 minutes at 1 Hz, one spike near the end (an event). */
function points(): IngestPoint[] {
  return Array.from({ length: 1800 }, (_, i) => ({
    timestamp: base + i * 1000,
    device_id: DEVICE,
    metrics: { temp: i === 1600 ? 60 : calm(i) },
  }));
}

let service: TestService;
let browser: Browser;
let shots: string;

const chartData = (page: Page) =>
  page.evaluate(`({ ...document.querySelector('.chart').dataset })`) as Promise<
    Record<string, string>
  >;

describe('units and the expected band, in Chromium', { timeout: 300_000 }, () => {
  before(async () => {
    ({ service, browser, shots } = await startBrowserSession([STRATEGY]));
    await service.send(points());
    await service.engine.flush();
    const res = await fetch(`${service.url}/v1/units/temp`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ unit: '°C', description: 'bearing temperature' }),
    });
    assert.equal(res.status, 200);
  });

  after(() => endBrowserSession({ browser, service }));

  test('the value axis and the legend carry the unit; the band is drawn', async () => {
    const { page, errors } = await openPage(browser, { viewport: { width: 1440, height: 900 } });
    await page.goto(`${service.url}/#/series/${DEVICE}/temp?from=${base}&to=${end}`);
    await page.locator('figcaption p', { hasText: 'buckets of' }).waitFor(WAIT);
    await page.waitForFunction(
      `document.querySelector('.chart')?.dataset.unit === '°C' && Number(document.querySelector('.chart')?.dataset.bandBuckets) > 0`,
      undefined,
      WAIT,
    );
    const d = await chartData(page);
    assert.equal(d.valueAxis, 'temp (°C)');
    // Most buckets have history before them (the first few warm the window up).
    const buckets = Number(
      (await page.locator('figcaption p').innerText()).match(/(\d+) buckets/)?.[1],
    );
    assert.ok(Number(d.bandBuckets) >= buckets * 0.8, `${d.bandBuckets} of ${buckets}`);
    // The band's fill is on the canvas: a pixel between the value line's band edges is tinted.
    const legend = page.locator('.u-legend');
    assert.match(await legend.innerText(), /temp \(avg, °C\)/);
    const box = await page.locator('.chart .u-over').boundingBox();
    assert.ok(box !== null);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.3);
    await page.waitForFunction(
      `/\\d °C/.test(document.querySelector('.u-legend')?.innerText ?? '')`,
      undefined,
      WAIT,
    );
    await page.screenshot({ path: path.join(shots, 'units-band-series.png') });
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the event page shows values with the unit', async () => {
    const events = (await (await fetch(`${service.url}/v1/events?device=${DEVICE}`)).json()) as {
      events: { id: string }[];
    };
    const id = events.events[0]?.id;
    assert.ok(id !== undefined, 'the spike raised an event');
    const { page, errors } = await openPage(browser);
    await page.goto(`${service.url}/#/events/${encodeURIComponent(id)}`);
    const observed = page.locator('td[data-observed]').first();
    await observed.waitFor(WAIT);
    assert.match(await observed.innerText(), /^60 °C$/);
    assert.match(
      await page.locator('th[scope=row]', { hasText: 'temp' }).first().innerText(),
      /temp \(°C\)/,
    );
    await page.waitForFunction(
      `document.querySelector('.chart')?.dataset.valueAxis === 'temp (°C)'`,
      undefined,
      WAIT,
    );
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the unit is set from the series page: the axis relabels, the API has it', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${service.url}/#/series/${DEVICE}/temp?from=${base}&to=${end}`);
    const input = page.getByLabel('Unit of temp (every device)');
    await page.waitForFunction(
      `document.getElementById('series-unit')?.value === '°C'`,
      undefined,
      WAIT,
    );
    await input.fill('K');
    await page.getByRole('button', { name: 'Save unit' }).click();
    await page.locator('#series-unit-status', { hasText: 'Saved: temp is in K' }).waitFor(WAIT);
    await page.waitForFunction(
      `document.querySelector('.chart')?.dataset.valueAxis === 'temp (K)'`,
      undefined,
      WAIT,
    );
    const units = (await (await fetch(`${service.url}/v1/units`)).json()) as {
      units: { metric: string; unit: string }[];
    };
    assert.deepEqual(
      units.units.map((u) => [u.metric, u.unit]),
      [['temp', 'K']],
    );
    // A refused unit says why and changes nothing.
    await page.evaluate(
      `document.getElementById('series-unit').value = 'deg' + String.fromCharCode(7)`,
    );
    await page.getByRole('button', { name: 'Save unit' }).click();
    await page
      .locator('#series-unit-status', { hasText: 'Not saved: unit contains a control character' })
      .waitFor(WAIT);
    assert.equal((await chartData(page)).valueAxis, 'temp (K)');
    // The refused PUT's 400 is logged by the browser; nothing else.
    assert.ok(
      errors.every((e) => /400/.test(e)),
      errors.join('\n'),
    );
    await page.context().close();
  });
});
