#!/usr/bin/env node
// `npm run build` (and `prepack`): compiles src/ to dist/ with tsc (tsconfig.build.json: JavaScript
// and .d.ts, `./x.ts` imports rewritten to `./x.js`), then copies what tsc does not emit but the
// package needs at run time: the replica threads' plain-JS entry (worker-bootstrap.mjs) and the
// dashboard's static assets. dist/ is removed first so a deleted source never lingers in it.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");

/** Files under src/ (relative) that ship as they are. */
const ASSETS = [
  "runtime/worker-bootstrap.mjs",
  ...readdirSync(path.join(ROOT, "src/dashboard"))
    .filter((name) => /\.(html|css|js)$/.test(name))
    .map((name) => `dashboard/${name}`),
];

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
if (result.status !== 0) {
  console.error(`build: tsc failed (exit ${result.status ?? result.signal})`);
  process.exit(1);
}
for (const rel of ASSETS) {
  const to = path.join(DIST, rel);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(path.join(ROOT, "src", rel), to);
}
console.log(`build: dist/ written (${ASSETS.length} assets copied)`);
