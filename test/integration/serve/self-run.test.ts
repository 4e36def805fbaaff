import { afterAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";

describe("a module that calls serve.run at top level", () => {
  afterAll(async () => {
    await serve.shutdown();
  });

  it("deploys from the main thread, and its replicas import it without starting a runtime", async () => {
    const { handle } = await import("../../fixtures/serve/self-run.ts");
    expect(await handle.where.remote()).toEqual({ mainThread: false, runtimeHere: false });
    expect(serve.status().applications.map((a) => a.name)).toEqual(["self"]);
    expect(serve.address()).toBeUndefined();
  });
});
