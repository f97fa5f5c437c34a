/**
 * Debian's Chromium driven by playwright-core, headless, with a fresh profile per launch; console
 * errors and page errors are collected so tests can assert there are none.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console messages of type error and uncaught page errors, in order. */
  readonly errors: string[];
}

export interface PageOptions {
  /** Default 1366×768, the laptop screen the dashboard is laid out for; a phone is 390×844. */
  readonly viewport?: { width: number; height: number };
  /** What `prefers-color-scheme` answers; default light. */
  readonly colorScheme?: 'light' | 'dark';
  /** The browser's time zone (IANA name); default the machine's. */
  readonly timezoneId?: string;
}

/** A page in a fresh context (its own storage), 1366×768 unless told otherwise. */
export async function openPage(browser: Browser, options: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1366, height: 768 },
    colorScheme: options.colorScheme ?? 'light',
    ...(options.timezoneId === undefined ? {} : { timezoneId: options.timezoneId }),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return { page, errors };
}

/** Where screenshots go: $VIGIL_E2E_ARTIFACTS, or one fixed folder in the temp dir (overwritten). */
export async function artifactDir(): Promise<string> {
  const dir = process.env.VIGIL_E2E_ARTIFACTS ?? path.join(tmpdir(), 'vigil-e2e-artifacts');
  await mkdir(dir, { recursive: true });
  return dir;
}
