// Headless Debian chromium driven by playwright-core, plus the screenshot check shared by the
// dashboard tests. scripts/install-chromium.sh (run by pretest) installs the browser.

import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.STINGRAY_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: run scripts/install-chromium.sh (npm test's pretest does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * Counts distinct colours in a PNG by drawing it on a canvas in a blank page: a blank or
 * all-white screenshot has one or two, a rendered dashboard has hundreds.
 */
export async function distinctColors(page: Page, png: Buffer): Promise<number> {
  const dataUrl = `data:image/png;base64,${png.toString("base64")}`;
  return page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return seen.size;
  }, dataUrl);
}

/** Pixels of a canvas element close to a colour (each channel within `tolerance`). */
export async function pixelsNear(page: Page, selector: string, rgb: [number, number, number], tolerance = 40): Promise<number> {
  return page.$eval(
    selector,
    (el, [r, g, b, tol]) => {
      const canvas = el as HTMLCanvasElement;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 128 && Math.abs(data[i]! - r!) <= tol! && Math.abs(data[i + 1]! - g!) <= tol! && Math.abs(data[i + 2]! - b!) <= tol!) n++;
      }
      return n;
    },
    [...rgb, tolerance],
  );
}

/** The dashboard's series colours (see dashboard.js). */
export const ACCENT: [number, number, number] = [47, 111, 222];
export const BAD: [number, number, number] = [214, 69, 69];

/** Pixels of a canvas element that differ from its background (white / transparent). */
export async function inkedPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (el) => {
    const canvas = el as HTMLCanvasElement;
    const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240)) n++;
    return n;
  });
}
