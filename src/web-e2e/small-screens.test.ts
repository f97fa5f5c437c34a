/**
 * Every view on a 390×844 phone and in dark mode (prefers-color-scheme), in Chromium against
 * the real service: nothing is wider than the screen (the page never scrolls sideways), the
 * dark palette is in force (dark background, light text, the chart drawn in its dark colours),
 * the keyboard path (skip link, header links) still works, and each is screenshotted.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { IngestPoint } from '../engine/engine.js';
import { openPage, type WatchedPage } from './browser.js';
import type { TestService } from './service.js';
import { calm, endBrowserSession, startBrowserSession, zscoreStrategy } from './session.js';

const STRATEGY = zscoreStrategy({
  name: 'e2e-phone',
  description: 'phone test devices, online z-score',
  devices: 'a-rather-long-device-name-*',
});

const DEVICE = 'a-rather-long-device-name-on-the-third-floor-pump-07';
const WAIT = { timeout: 60_000 };
const PHONE = { width: 390, height: 844 };
const base = Math.floor(Date.now() / 1000) * 1000 - 300_000;

function points(): IngestPoint[] {
  return Array.from({ length: 290 }, (_, i) => ({
    timestamp: base + i * 1000,
    device_id: DEVICE,
    metrics: {
      temperature_outlet_celsius: i === 250 ? 70 : calm(i),
      flow: 5 + Math.cos(i / 9),
    },
  }));
}

let service: TestService;
let browser: Browser;
let shots: string;
let eventId: string;

/** The views, each with what shows it is drawn. */
function views(): [name: string, hash: string, ready: string][] {
  return [
    ['fleet', '#/', 'table.fleet'],
    ['series', `#/series/${DEVICE}/temperature_outlet_celsius`, 'figcaption p:has-text("buckets")'],
    ['events', '#/events', 'table.events tbody tr'],
    ['event', `#/events/${encodeURIComponent(eventId)}`, 'h2:has-text("Why")'],
    ['strategies', '#/strategies/e2e-phone', 'table.history'],
    ['shadows', '#/shadows', 'text=No shadow runs yet.'],
    ['incidents', '#/incidents', 'text=/Nothing is firing|open incidents?$/'],
  ];
}

async function show(page: Page, hash: string, ready: string): Promise<void> {
  await page.goto(`${service.url}/${hash}`);
  try {
    await page.locator(ready).first().waitFor(WAIT);
  } catch (err) {
    await page.screenshot({ path: path.join(shots, 'not-ready.png'), fullPage: true });
    throw err;
  }
  // Charts size themselves after layout: wait for the frame after.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
}

const overflow = (page: Page) =>
  page.evaluate(
    `({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
            && !e.closest('table') && getComputedStyle(e).position !== 'absolute')
          .slice(0, 5).map((e) => e.tagName + '.' + e.className) })`,
  ) as Promise<{ scroll: number; inner: number; wide: string[] }>;

/** Relative luminance of a computed `rgb(…)` colour, 0 (black) to 1 (white). */
async function luminance(page: Page, selector: string, property: string): Promise<number> {
  const color = await page.evaluate(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`,
  );
  const [r, g, b] = (String(color).match(/\d+(\.\d+)?/g) ?? []).map(Number);
  const lin = (c = 0) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

describe('390 px and dark mode, in Chromium', { timeout: 400_000 }, () => {
  before(async () => {
    ({ service, browser, shots } = await startBrowserSession([STRATEGY]));
    await service.send(points());
    await service.engine.flush();
    const answer = (await (await fetch(`${service.url}/v1/events`)).json()) as {
      events: { id: string }[];
    };
    const first = answer.events[0];
    assert.ok(first, 'the spike raised an event');
    eventId = first.id;
  });

  after(() => endBrowserSession({ browser, service }));

  for (const scheme of ['light', 'dark'] as const) {
    test(`every view fits 390 px without sideways scrolling (${scheme})`, async () => {
      const watched: WatchedPage = await openPage(browser, {
        viewport: PHONE,
        colorScheme: scheme,
      });
      const { page } = watched;
      for (const [name, hash, ready] of views()) {
        await show(page, hash, ready);
        const o = await overflow(page);
        await page.screenshot({ path: path.join(shots, `phone-${scheme}-${name}.png`) });
        assert.ok(
          o.scroll <= o.inner,
          `${name}: ${o.scroll} px wide on a ${o.inner} px screen (${o.wide.join(', ')})`,
        );
      }
      assert.deepEqual(watched.errors, []);
      await page.context().close();
    });
  }

  test('dark mode switches the palette: page, header, tables and chart', async () => {
    const light = await openPage(browser, { colorScheme: 'light' });
    const dark = await openPage(browser, { colorScheme: 'dark' });
    for (const { page } of [light, dark]) {
      await show(page, `#/series/${DEVICE}/temperature_outlet_celsius`, '.chart canvas');
    }
    assert.ok((await luminance(light.page, 'html', 'backgroundColor')) > 0.8);
    assert.ok((await luminance(dark.page, 'html', 'backgroundColor')) < 0.05, 'dark background');
    assert.ok((await luminance(dark.page, 'h1', 'color')) > 0.6, 'light text');
    assert.ok((await luminance(dark.page, 'button', 'backgroundColor')) < 0.05, 'dark buttons');
    const axis = (p: Page) =>
      p.evaluate(
        `getComputedStyle(document.documentElement).getPropertyValue('--chart-axis').trim()`,
      );
    assert.notEqual(
      await axis(dark.page),
      await axis(light.page),
      'the chart has its own dark colours',
    );
    await dark.page.screenshot({ path: path.join(shots, 'dark-series.png') });
    await show(dark.page, '#/events', 'table.events tbody tr');
    assert.ok(
      (await luminance(dark.page, 'thead th', 'backgroundColor')) < 0.05,
      'dark table head',
    );
    assert.deepEqual([...light.errors, ...dark.errors], []);
    await light.page.context().close();
    await dark.page.context().close();
  });

  test('on a phone the keyboard path is kept: skip link, then the header links', async () => {
    const { page } = await openPage(browser, { viewport: PHONE, colorScheme: 'dark' });
    await show(page, '#/', 'table.fleet');
    const focused = () =>
      page.evaluate(`(document.activeElement?.textContent ?? '').trim()`) as Promise<string>;
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to content');
    const skip = await page.evaluate(
      `(() => { const r = document.activeElement.getBoundingClientRect();
        return r.left >= 0 && r.right <= window.innerWidth; })()`,
    );
    assert.equal(skip, true, 'the focused skip link is on screen');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(`document.activeElement?.tagName`), 'H1');
    await page.keyboard.press('Shift+Tab');
    let text = await focused();
    for (let i = 0; i < 10 && text !== 'Events'; i++) {
      await page.keyboard.press('Shift+Tab');
      text = await focused();
    }
    assert.equal(text, 'Events', 'the header links are reachable');
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: 'Events' }).waitFor(WAIT);
    await page.context().close();
  });
});
