/**
 * What the browser tests share: the online z-score strategy they score with, the calm wave their
 * points follow, and the service + Chromium + screenshot folder they start together.
 */
import type { Browser } from 'playwright-core';
import { artifactDir, launchBrowser } from './browser.js';
import { startService, type ServiceOptions, type TestService } from './service.js';

export interface ZscoreStrategy {
  readonly name: string;
  readonly description: string;
  /** The trigger rule's device glob, e.g. "chart-*". */
  readonly devices: string;
}

/** A strategy flagging points 4 sigma off an online (alpha 0.05) z-score, static threshold. */
export function zscoreStrategy(s: ZscoreStrategy): string {
  return `name: ${s.name}
version: 1
description: ${s.description}
trigger_rules:
  - device: "${s.devices}"
detector:
  kind: ewzscore
  params:
    alpha: 0.05
    threshold: 4
threshold:
  kind: static
`;
}

/** The ordinary value of point i: a slow sine with a small saw, never near 4 sigma. */
export function calm(i: number): number {
  return 20 + Math.sin(i / 7) + (i % 3) * 0.1;
}

export interface BrowserSession {
  readonly service: TestService;
  readonly browser: Browser;
  /** Where screenshots go. */
  readonly shots: string;
}

/** The service (arguments as `startService`), Chromium and the screenshot folder, started together. */
export async function startBrowserSession(
  strategyYamls: readonly string[],
  storedYamls: readonly string[] = [],
  options: ServiceOptions = {},
): Promise<BrowserSession> {
  const [service, browser, shots] = await Promise.all([
    startService(strategyYamls, storedYamls, options),
    launchBrowser(),
    artifactDir(),
  ]);
  return { service, browser, shots };
}

/** Closes what started (either may be missing when `before` failed): the browser, then the service. */
export async function endBrowserSession(session: {
  readonly browser?: Browser | undefined;
  readonly service?: TestService | undefined;
}): Promise<void> {
  await session.browser?.close();
  await session.service?.stop();
}
