// Which modules get tsx: the CLI's main thread (src/cli/typescript-loader.ts) and each replica
// thread (src/runtime/worker-bootstrap.mjs) load it only for a TypeScript module, so a plain-JS
// app on the compiled package never does. Both must agree on what TypeScript is.

import { describe, expect, it } from "vitest";
import { ensureTypeScriptLoader, isTypeScriptModule } from "../../../src/cli/typescript-loader.ts";
// @ts-expect-error -- plain JavaScript without declarations (piscina's entry file)
import { isTypeScriptModule as bootstrapIsTypeScript } from "../../../src/runtime/worker-bootstrap.mjs";

const CASES: Array<[string, boolean]> = [
  ["/app/app.ts", true],
  ["/app/app.mts", true],
  ["/app/app.cts", true],
  ["/app/app.tsx", true],
  ["/app/APP.TS", true],
  ["file:///app/app.ts?v=1733150000000", true],
  ["file:///app/app.ts#frag", true],
  ["/app/app.js", false],
  ["/app/app.mjs", false],
  ["/app/app.cjs", false],
  ["file:///app/app.mjs?v=1", false],
  ["/app/app.d.json", false],
  ["/app/ts/app.js", false],
  ["/app/app.ts.js", false],
];

describe("isTypeScriptModule", () => {
  it.each(CASES)("%s → %s (CLI main thread)", (modulePath, expected) => {
    expect(isTypeScriptModule(modulePath)).toBe(expected);
  });

  it.each(CASES)("%s → %s (replica thread bootstrap)", (modulePath, expected) => {
    expect((bootstrapIsTypeScript as (p: string) => boolean)(modulePath)).toBe(expected);
  });
});

describe("ensureTypeScriptLoader", () => {
  it("registers nothing when running from sources (a TypeScript loader is already active)", async () => {
    await expect(ensureTypeScriptLoader("/app/app.ts")).resolves.toBeUndefined();
    await expect(ensureTypeScriptLoader("/app/app.mjs")).resolves.toBeUndefined();
  });
});
