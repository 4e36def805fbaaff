// jose is loaded only when an app uses `auth.jwt` (importing it costs ~60 ms of start-up): a child
// process (fresh module cache) builds the proxy's auth for an app with static tokens, then for one
// with JWT auth, and reports which jose files it resolved, read from the ESM loader's resolve hook.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { RESOLVE_PROBE } from "../../fixtures/resolve-probe.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

const script = `${RESOLVE_PROBE}
const joseSeen = () => seen.some((u) => u.includes("/node_modules/jose/"));
await import("./src/index.ts");
await import("./src/ingress/proxy.ts");
const { BearerAuth } = await import("./src/ingress/auth.ts");
const req = { url: "/mcp", method: "POST" };
await new BearerAuth({ tokens: ["static-token"] }).authenticate("Bearer static-token", req, "x");
await new Promise((r) => setTimeout(r, 100));
const staticOnly = joseSeen();
const jwt = new BearerAuth({ jwt: { issuer: "https://i", audience: "a", jwks: { keys: [{ kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] } } });
await jwt.authenticate("Bearer a.b.c", req, "x");
await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify({ staticOnly, withJwt: joseSeen() }));
`;

describe("jose is lazy", () => {
  it("is not resolved until an app with auth.jwt authenticates", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "" },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ staticOnly: false, withJwt: true });
  }, 90_000);
});
