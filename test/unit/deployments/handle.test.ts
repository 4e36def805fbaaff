import { describe, expect, expectTypeOf, it } from "vitest";
import { CancelledError } from "../../../src/errors.ts";
import type { CallOptions, CallTransport } from "../../../src/runtime/call.ts";
import type { DeploymentId } from "../../../src/runtime/ids.ts";
import { createDeploymentHandle, type DeploymentHandle } from "../../../src/deployments/handle.ts";
import { DeploymentResponse, DeploymentResponseGenerator } from "../../../src/deployments/response.ts";
import { reviveInitArgs } from "../../../src/deployments/revive.ts";
import { handleRef } from "../../../src/deployments/handle-ref.ts";

class Calc {
  add(a: number, b: number): number {
    return a + b;
  }
  async greet(name: string): Promise<string> {
    return `hi ${name}`;
  }
  async *count(n: number): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  field = 3;
}

interface Sent {
  target: DeploymentId;
  method: string;
  args: unknown[];
  options?: CallOptions;
}

/** Answers calls by running the method on a local Calc, recording what was sent. */
function fakeTransport(): CallTransport & { sent: Sent[] } {
  const calc = new Calc() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const sent: Sent[] = [];
  return {
    sent,
    async call(target, method, args, options) {
      sent.push({ target, method, args, options });
      if (method === "hang") {
        return new Promise((_, reject) => options?.signal?.addEventListener("abort", () => reject(new CancelledError())));
      }
      return calc[method]!(...args);
    },
    async *stream(target, method, args, options) {
      sent.push({ target, method, args, options });
      yield* calc[method]!(...args) as AsyncIterable<unknown>;
    },
  };
}

const target = { app: "a", deployment: "Calc" };

describe("DeploymentHandle", () => {
  it("calls methods through the transport and types the result", async () => {
    const t = fakeTransport();
    const h = createDeploymentHandle<Calc>(target, t);
    const r = h.add.remote(1, 2);
    expectTypeOf(r).toEqualTypeOf<DeploymentResponse<number>>();
    expectTypeOf<Awaited<typeof r>>().toEqualTypeOf<number>();
    expectTypeOf<Awaited<ReturnType<typeof h.greet.remote>>>().toEqualTypeOf<string>();
    expect(await r).toBe(3);
    expect(t.sent[0]).toMatchObject({ target, method: "add", args: [1, 2] });
    expect(h.deploymentName).toBe("Calc");
    expect(h.appName).toBe("a");
    // @ts-expect-error fields are not methods
    void h.field;
    // @ts-expect-error arguments are typed from the method
    void h.add.remote("1", 2);
  });

  it("is not thenable, so awaiting a handle yields the handle", async () => {
    const h = createDeploymentHandle<Calc>(target, fakeTransport());
    expect((h as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(h)).toBe(h);
  });

  it("resolves responses passed unawaited into another call", async () => {
    const t = fakeTransport();
    const h = createDeploymentHandle<Calc>(target, t);
    const sum = h.add.remote(h.add.remote(1, 2), h.add.remote(10, 20));
    expect(await sum).toBe(33);
    expect(t.sent.at(-1)!.args).toEqual([3, 30]);
  });

  it("streams a generator method with options({ stream: true })", async () => {
    const h = createDeploymentHandle<Calc>(target, fakeTransport());
    const gen = h.options({ stream: true }).count.remote(3);
    expectTypeOf(gen).toEqualTypeOf<DeploymentResponseGenerator<number>>();
    const items: number[] = [];
    for await (const x of gen) items.push(x);
    expect(items).toEqual([0, 1, 2]);
  });

  it("cancel() aborts the signal the transport got", async () => {
    const t = fakeTransport();
    const h = createDeploymentHandle<Record<string, () => Promise<void>>>(target, t);
    const r = h.hang!.remote();
    await new Promise((resolve) => setTimeout(() => resolve(undefined), 5));
    r.cancel();
    await expect(r).rejects.toBeInstanceOf(CancelledError);
  });

  it("passes timeoutMs and a user signal from options()", async () => {
    const t = fakeTransport();
    const ctl = new AbortController();
    const h = createDeploymentHandle<Calc>(target, t).options({ timeoutMs: 1234, signal: ctl.signal });
    await h.add.remote(1, 1);
    expect(t.sent[0]!.options!.timeoutMs).toBe(1234);
    ctl.abort();
    expect(t.sent[0]!.options!.signal!.aborted).toBe(true);
  });

  it("does not crash the process when a fire-and-forget call fails", async () => {
    const failing: CallTransport = {
      call: async () => {
        throw new Error("boom");
      },
      stream: () => (async function* () {})(),
    };
    const h = createDeploymentHandle<Calc>(target, failing);
    h.add.remote(1, 2);
    await new Promise((r) => setTimeout(r, 10));
  });
});

describe("reviveInitArgs", () => {
  it("turns handle references into handles, leaving other values alone", async () => {
    const t = fakeTransport();
    const [h, n, nested] = reviveInitArgs([handleRef(target), 5, { list: [handleRef(target)], d: new Date(0) }], t) as [
      DeploymentHandle<Calc>,
      number,
      { list: DeploymentHandle<Calc>[]; d: Date },
    ];
    expect(n).toBe(5);
    expect(await h.add.remote(2, 2)).toBe(4);
    expect(await nested.list[0]!.greet.remote("bo")).toBe("hi bo");
    expect(nested.d).toBeInstanceOf(Date);
  });

  it("gives handles that fail clearly without a transport", async () => {
    const [h] = reviveInitArgs([handleRef(target)], undefined) as [DeploymentHandle<Calc>];
    await expect(h.add.remote(1, 2)).rejects.toThrow(/no call transport/);
  });
});
