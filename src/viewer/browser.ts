import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

/**
 * Headless Chromium for the browser tests and the fps benchmark: Debian's /usr/bin/chromium
 * driven by playwright-core, rendering WebGL with SwiftShader (no GPU on CI).
 */
export const CHROMIUM = process.env.EMBODY_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--disable-background-networking'];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM}; run: sudo bash scripts/provision.sh`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Open a viewer page and wait until its mode is set up (window.embody.ready). */
export async function openViewer(browser: Browser, url: string, size = { width: 1280, height: 720 }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => (window as any).embody?.ready === true || (window as any).embody?.error, null, { timeout: 20_000 });
  const err = await page.evaluate(() => (window as any).embody.error);
  if (err || errors.length) throw new Error(`viewer page failed: ${err ?? errors.join('; ')}`);
  return page;
}

export interface CanvasSample {
  width: number;
  height: number;
  /** RGBA bytes of the canvas scaled down to width × height. */
  rgba: Uint8Array;
}

/** The 3D view rendered and read back in the page, scaled down to width × height. */
export async function sampleCanvas(page: Page, width = 160, height = 90): Promise<CanvasSample> {
  // base64 rather than a number array, which is ~10x larger over the DevTools protocol.
  const b64 = (await page.evaluate(`window.embody.capture(${width}, ${height})`)) as string;
  return { width, height, rgba: new Uint8Array(Buffer.from(b64, 'base64')) };
}

/** How many distinct colours (quantised to 4 bits per channel) a sample has: 1 means blank. */
export function distinctColours(s: CanvasSample): number {
  const seen = new Set<number>();
  for (let i = 0; i < s.rgba.length; i += 4) seen.add(((s.rgba[i] >> 4) << 8) | ((s.rgba[i + 1] >> 4) << 4) | (s.rgba[i + 2] >> 4));
  return seen.size;
}

/** Fraction of pixels whose colour differs by more than `tol` (any channel) between two samples. */
export function pixelDiff(a: CanvasSample, b: CanvasSample, tol = 24): number {
  let changed = 0;
  for (let i = 0; i < a.rgba.length; i += 4) {
    if (Math.abs(a.rgba[i] - b.rgba[i]) > tol || Math.abs(a.rgba[i + 1] - b.rgba[i + 1]) > tol || Math.abs(a.rgba[i + 2] - b.rgba[i + 2]) > tol) changed++;
  }
  return changed / (a.rgba.length / 4);
}
