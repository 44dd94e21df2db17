import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.WIRETRACE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Debian's Chromium driven by playwright-core (no browser download). Skips
 * the test with a visible message where it is absent, except under CI=true.
 * The flags keep Chromium off the network this machine does not have;
 * playwright gives it a fresh temporary profile.
 */
export async function launchBrowser(t: TestContext): Promise<{ browser: Browser; close(): Promise<void> } | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`Chromium is required under CI=true but ${CHROMIUM} is missing`);
    t.skip(`Chromium is not installed (${CHROMIUM})`);
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
