// Handle calls made inside a traced replica call: each gets a CLIENT span, child of the call's span
// (found through the call scope), whose traceparent rides the upcall; the span ends with the call's
// outcome. Without a span in scope nothing is added to the message. A fake CallSpan stands in for
// the OpenTelemetry one (tracing-spans.ts; the integration test uses the real SDK).

import { describe, expect, it } from "vitest";
import { serializeError } from "../../../src/errors.ts";
import type { CallSpan } from "../../../src/observability/tracing.ts";
import { CallScope, runInCallScope } from "../../../src/runtime/call-context.ts";
import type { DeploymentId } from "../../../src/runtime/ids.ts";
import type { UpcallRequest } from "../../../src/runtime/protocol.ts";
import { WorkerCallTransport } from "../../../src/runtime/worker-transport.ts";

const target = { app: "shop", deployment: "Cart" };

class FakeSpan implements CallSpan {
  readonly children: FakeSpan[] = [];
  ended: { error: unknown } | undefined;
  constructor(
    readonly traceparent: string,
    readonly started?: { target: DeploymentId; method: string },
    readonly tracestate: string | undefined = undefined,
  ) {}
  startHandleCall(t: DeploymentId, method: string): CallSpan {
    // A child span carries its parent's tracestate on, as OpenTelemetry's do.
    const child = new FakeSpan(`00-${"a".repeat(32)}-${String(this.children.length + 1).padStart(16, "0")}-01`, { target: t, method }, this.tracestate);
    this.children.push(child);
    return child;
  }
  end(error?: unknown): void {
    this.ended = { error };
  }
}

function traced(tracestate?: string) {
  const sent: UpcallRequest[] = [];
  const t = new WorkerCallTransport((m) => sent.push(m));
  const scope = new CallScope();
  const span = new FakeSpan(`00-${"a".repeat(32)}-${"b".repeat(16)}-01`, undefined, tracestate);
  scope.span = span;
  return { t, sent, scope, span };
}

describe("WorkerCallTransport tracing", () => {
  it("starts a CLIENT span per handle call under the call's span and sends its traceparent", async () => {
    const { t, sent, scope, span } = traced();
    const p = runInCallScope(scope, () => t.call(target, "add", [1]));
    expect(span.children).toHaveLength(1);
    const client = span.children[0]!;
    expect(client.started).toEqual({ target, method: "add" });
    expect(sent[0]).toMatchObject({ type: "upcall", method: "add", traceparent: client.traceparent });
    expect(sent[0]).not.toHaveProperty("tracestate");
    expect(client.ended).toBeUndefined();
    t.handle({ type: "upcall-result", id: 1, value: 2 });
    expect(await p).toBe(2);
    expect(client.ended).toEqual({ error: undefined });
  });

  it("sends the span's tracestate with its traceparent", async () => {
    const { t, sent, scope, span } = traced("vendor=opaque,other=1");
    void runInCallScope(scope, () => t.call(target, "add", [1]));
    expect(sent[0]).toMatchObject({ traceparent: span.children[0]!.traceparent, tracestate: "vendor=opaque,other=1" });
  });

  it("ends the CLIENT span with the error of a failed call", async () => {
    const { t, scope, span } = traced();
    const p = runInCallScope(scope, () => t.call(target, "add", []));
    t.handle({ type: "upcall-error", id: 1, error: serializeError(new RangeError("nope")) });
    await expect(p).rejects.toBeInstanceOf(RangeError);
    expect(span.children[0]!.ended?.error).toBeInstanceOf(RangeError);
  });

  it("ends a stream's CLIENT span when the stream ends", async () => {
    const { t, sent, scope, span } = traced();
    const items: unknown[] = [];
    const done = runInCallScope(scope, async () => {
      for await (const v of t.stream(target, "count", [2])) items.push(v);
    });
    await Promise.resolve();
    expect(sent[0]).toMatchObject({ type: "upcall", stream: true, traceparent: span.children[0]!.traceparent });
    t.handle({ type: "upcall-item", id: 1, value: 1 });
    t.handle({ type: "upcall-item", id: 1, value: 2 });
    t.handle({ type: "upcall-end", id: 1 });
    await done;
    expect(items).toEqual([1, 2]);
    expect(span.children[0]!.ended).toEqual({ error: undefined });
  });

  it("adds nothing when the call has no span (tracing off) or outside a call", async () => {
    const sent: UpcallRequest[] = [];
    const t = new WorkerCallTransport((m) => sent.push(m));
    void runInCallScope(new CallScope(), () => t.call(target, "add", [1]));
    void t.call(target, "add", [2]);
    expect(sent.map((m) => "traceparent" in m || "tracestate" in m)).toEqual([false, false]);
  });
});
