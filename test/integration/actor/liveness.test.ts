// The actor's side of liveness, with real worker threads: the probe travels outside the request
// slots (answered while every slot is taken, not answered while the event loop is blocked), a
// timed-out call that ignores cancellation stays listed as overdue, and terminate() ends a thread
// in a busy loop at once but a thread blocked in native code only when the native call returns.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { newActor, rejection, spec, stopAfterEach, waitFor } from "./helpers.ts";

stopAfterEach();

const WEDGE = fileURLToPath(new URL("../../fixtures/serve/wedge.ts", import.meta.url));

async function wedgeable(exportName = "CheckedWedgeable") {
  const actor = newActor(spec({ modulePath: WEDGE, exportName, maxOngoingRequests: 1 }));
  await actor.start();
  return actor;
}

describe("replica actor liveness", () => {
  it("answers the probe, running checkHealth(), while its only slot is taken", async () => {
    const actor = await wedgeable();
    const busy = actor.call("work", [300]);
    expect(actor.ongoing).toBe(1);
    expect((await rejection(actor.call("whoami", []))).code).toBe(ErrorCode.REPLICA_BUSY);
    await actor.probe({ checkHealth: true });
    await actor.probe({ checkHealth: false });
    await busy;
  });

  it("does not answer the probe while its event loop is blocked; terminate() ends it at once and fails the call", async () => {
    const actor = await wedgeable();
    const spinning = rejection(actor.call("spin", [60_000]));
    let answered = false;
    void actor.probe({ checkHealth: false }).then(() => (answered = true), () => {});
    await new Promise((r) => setTimeout(r, 500));
    expect(answered).toBe(false);
    const t0 = Date.now();
    await actor.terminate(new Error("declared dead in a test"));
    expect(Date.now() - t0).toBeLessThan(2_000);
    const err = await spinning;
    expect(err.code).toBe(ErrorCode.REPLICA_DIED);
    expect(err.message).toMatch(/terminated with this call in flight: declared dead in a test/);
    expect(actor.state).toBe("DEAD");
    expect((await rejection(actor.probe({ checkHealth: false }))).code).toBe(ErrorCode.REPLICA_DIED);
  });

  it("keeps a timed-out call that ignores cancellation listed as overdue, holding its slot", async () => {
    const actor = await wedgeable();
    const err = await rejection(actor.call("leak", [], { timeoutMs: 100 }));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect([...actor.overdueCalls.values()]).toEqual(["leak"]);
    expect(actor.ongoing).toBe(1);
    await actor.probe({ checkHealth: true }); // its event loop is fine
  });

  it("terminate() of a thread blocked in native code settles only when the native call returns", async () => {
    const actor = await wedgeable("Wedgeable");
    const blocked = rejection(actor.call("blockInNativeCode", [3]));
    await waitFor(() => actor.ongoing === 1);
    await new Promise((r) => setTimeout(r, 200)); // let the worker enter the native call
    const t0 = Date.now();
    let exited = false;
    const exit = actor.terminate(new Error("declared dead")).then(() => (exited = true));
    expect((await blocked).code).toBe(ErrorCode.REPLICA_DIED); // the caller is answered at once
    await new Promise((r) => setTimeout(r, 1_000));
    expect(exited).toBe(false);
    await exit;
    expect(Date.now() - t0).toBeGreaterThan(1_500);
  });
});
