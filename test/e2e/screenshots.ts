import type { Page } from 'playwright-core';

/**
 * Screenshots of a run page for the docs (desktop and 360 px, light and dark), written when the e2e
 * tests run with BATON_SCREENSHOTS=<dir>: `BATON_SCREENSHOTS=docs npx vitest run test/e2e`.
 */
export async function captureScreenshots(page: Page, url: string, dir: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    for (const [name, width, height] of [
      ['desktop', 1280, 1000],
      ['360', 360, 1400],
    ] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width, height });
      await page.goto(url);
      await page.waitForSelector('[data-panel]');
      await page.screenshot({ path: `${dir}/console-run-${name}-${scheme}.png`, fullPage: name === 'desktop' });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
}
