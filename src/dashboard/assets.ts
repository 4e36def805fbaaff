// The dashboard's static files (HTML, JS, CSS), read once from this folder and served by the
// observability router. Everything is self-contained: no CDN, works offline.

import { readFileSync } from "node:fs";

export interface DashboardAsset {
  contentType: string;
  body: string;
}

const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
  "dashboard.css": "text/css; charset=utf-8",
};

let cache: Map<string, DashboardAsset> | undefined;

/** Assets by file name (`index.html`, `dashboard.js`, `dashboard.css`). */
export function dashboardAssets(): ReadonlyMap<string, DashboardAsset> {
  if (!cache) {
    cache = new Map();
    for (const [name, contentType] of Object.entries(FILES)) {
      cache.set(name, { contentType, body: readFileSync(new URL(`./${name}`, import.meta.url), "utf8") });
    }
  }
  return cache;
}
