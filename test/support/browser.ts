/**
 * Headless Debian Chromium (/usr/bin/chromium, installed by infra/setup.sh) driven by
 * playwright-core, for the tests that check a page really renders, and where their screenshots go
 * (.run/screenshots/, git-ignored).
 */
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', '.run', 'screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
