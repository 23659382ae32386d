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

/** The 3D canvas, scaled down and read back in the page (the renderer keeps its drawing buffer). */
export async function sampleCanvas(page: Page, selector = '#view canvas', width = 160, height = 90): Promise<CanvasSample> {
  // A string, not a function (tsx would wrap inner closures in a helper the page lacks), and
  // base64 rather than a number array, which is ~10x larger over the DevTools protocol.
  const b64 = (await page.evaluate(`(() => {
    const src = document.querySelector(${JSON.stringify(selector)});
    const c = document.createElement('canvas');
    c.width = ${width};
    c.height = ${height};
    const ctx = c.getContext('2d');
    ctx.drawImage(src, 0, 0, ${width}, ${height});
    const d = ctx.getImageData(0, 0, ${width}, ${height}).data;
    let s = '';
    for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
    return btoa(s);
  })()`)) as string;
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
