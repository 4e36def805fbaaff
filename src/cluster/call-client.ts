// The caller side of cross-node calls: sends a call to the node that runs the chosen replica and
// matches its answers by reply subject (one wildcard subscription on this node's inbox serves
// every call). It turns what NATS says into the runtime's errors:
//   - no responders (nobody listens on the node's subject) or "undelivered" (the node does not run
//     that replica now): ReplicaUnreachableError, which the router re-routes at once (rule 3);
//   - no answer by the deadline plus a grace: TimeoutError, and the node is reported suspect;
//   - the node died with the call in flight (`failNode`): ReplicaDiedError (idempotent
//     deployments retry it elsewhere, in the router).
// Cancellation (the caller's signal, breaking out of a stream) is sent to the owner's control
// subject; stream items are checked for gaps and acknowledged with credits (rule 8).
// After a NATS connection broke (this node's, or the owner's: `probe`), every call in flight asks
// its owner what became of it, since a message in transit through a dying server is lost: still
// running (wait), never arrived (re-routed: nothing ran), or finished with the answer lost (failed
// rather than run twice; small unary answers are simply sent again).

import {
  CancelledError,
  ReplicaDiedError,
  ReplicaUnreachableError,
  TimeoutError,
} from "../errors.ts";
import type { CallOptions } from "../runtime/call.ts";
import type { BusMessage, BusSubscription, CallBus } from "./call-bus.ts";
import { RemoteStream, answerError } from "./remote-stream.ts";
import {
  STREAM_WINDOW,
  callSubject,
  controlSubject,
  decode,
  encode,
  type CallAnswer,
  type CallControl,
  type CallRequest,
} from "./call-wire.ts";

/** A caller waits this long past its deadline before it gives up on a silent node. */
export const DEADLINE_GRACE_MS = 1_000;

export interface RemoteTarget {
  node: string;
  app: string;
  deployment: string;
  replicaId: string;
}

interface Pending {
  node: string;
  /** Streams: the first item still missing (status questions ask the owner to replay from it). */
  fromSeq?: () => number;
  answer(a: CallAnswer): void;
  fail(err: Error): void;
}

export class CallClient {
  readonly #bus: CallBus;
  readonly #cluster: string;
  readonly #nodeId: string;
  readonly #onSuspect: (node: string) => void;
  readonly #pending = new Map<string, Pending>();
  #inbox = "";
  #next = 0;
  #sub: BusSubscription | undefined;

  constructor(options: { bus: CallBus; cluster: string; nodeId: string; onSuspect: (node: string) => void }) {
    this.#bus = options.bus;
    this.#cluster = options.cluster;
    this.#nodeId = options.nodeId;
    this.#onSuspect = options.onSuspect;
  }

  async start(): Promise<void> {
    this.#inbox = this.#bus.inbox();
    this.#sub = await this.#bus.subscribe(`${this.#inbox}.>`, (m) => this.#onAnswer(m));
  }

  /** Calls waiting for an answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Asks the owners of the calls in flight (all, or those on `node`) what became of them. */
  probe(node?: string): number {
    let n = 0;
    for (const [reply, p] of this.#pending) {
      if (node !== undefined && p.node !== node) continue;
      this.#control(p.node, { k: "status", reply, ...(p.fromSeq ? { fromSeq: p.fromSeq() } : {}) });
      n++;
    }
    return n;
  }

  /** The node died (or left): every call in flight on it fails with `err`. */
  failNode(node: string, err: Error): number {
    let n = 0;
    for (const p of [...this.#pending.values()]) {
      if (p.node !== node) continue;
      p.fail(err);
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    await this.#sub?.drain().catch(() => {});
    for (const p of [...this.#pending.values()]) p.fail(new ReplicaDiedError("this node left the cluster"));
  }

  call(target: RemoteTarget, method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new CancelledError());
        return;
      }
      const reply = this.#replySubject();
      let data: Uint8Array;
      try {
        data = encode(this.#request("call", target, method, args, options), this.#bus.maxPayload, `the arguments of ${method}()`);
      } catch (err) {
        reject(err);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        this.#pending.delete(reply);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        finish();
        this.#control(target.node, { k: "cancel", reply });
        reject(new CancelledError());
      };
      this.#pending.set(reply, {
        node: target.node,
        answer: (a) => {
          if (a.k === "status" && a.state === "running") return;
          finish();
          if (a.k === "ok") resolve(a.value);
          else if (a.k === "err") reject(answerError(a, `replica ${target.replicaId} on node ${target.node}`));
          else if (a.k === "status") reject(lostInTransit(a.state, target, method));
          else reject(new ReplicaDiedError(`node ${target.node} answered a call with a stream`));
        },
        fail: (err) => {
          finish();
          reject(err);
        },
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          finish();
          this.#control(target.node, { k: "cancel", reply });
          this.#onSuspect(target.node);
          reject(new TimeoutError(`node ${target.node} did not answer ${method}() within ${options.timeoutMs} ms (+${DEADLINE_GRACE_MS} ms grace)`));
        }, options.timeoutMs + DEADLINE_GRACE_MS);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#publish(target, data, reply, (err) => this.#pending.get(reply)?.fail(err));
    });
  }

  stream(target: RemoteTarget, method: string, args: unknown[], options: CallOptions = {}): AsyncIterable<unknown> {
    return { [Symbol.asyncIterator]: () => this.#streamItems(target, method, args, options) };
  }

  async *#streamItems(target: RemoteTarget, method: string, args: unknown[], options: CallOptions): AsyncGenerator<unknown> {
    const signal = options.signal;
    if (signal?.aborted) throw new CancelledError();
    const reply = this.#replySubject();
    const data = encode(this.#request("stream", target, method, args, options), this.#bus.maxPayload, `the arguments of ${method}()`);
    const stream = new RemoteStream(`the stream ${method}() from replica ${target.replicaId} on node ${target.node}`, (fromSeq) =>
      this.#control(target.node, { k: "status", reply, fromSeq }),
    );
    const onAbort = (): void => stream.fail(new CancelledError());
    let timer: NodeJS.Timeout | undefined;
    this.#pending.set(reply, {
      node: target.node,
      fromSeq: () => stream.expected,
      answer: (a) => {
        if (timer && a.k !== "status") clearTimeout(timer);
        stream.push(a);
      },
      fail: (err) => stream.fail(err),
    });
    if (options.timeoutMs !== undefined) {
      // Only until the first answer: the owner enforces the deadline on the call itself.
      timer = setTimeout(() => {
        if (stream.answered) return;
        this.#onSuspect(target.node);
        stream.fail(new TimeoutError(`node ${target.node} did not answer ${method}() within ${options.timeoutMs} ms (+${DEADLINE_GRACE_MS} ms grace)`));
      }, options.timeoutMs + DEADLINE_GRACE_MS);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.#publish(target, data, reply, (err) => stream.fail(err));
      let unacked = 0;
      for (;;) {
        const step = await stream.next();
        if (step.done) return;
        yield step.value;
        if (++unacked >= STREAM_WINDOW / 2) {
          this.#control(target.node, { k: "credit", reply, n: unacked });
          unacked = 0;
        }
      }
    } finally {
      this.#pending.delete(reply);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // Broken out of, cancelled or failed here: the owner must stop the generator.
      if (!stream.finished) this.#control(target.node, { k: "cancel", reply });
    }
  }

  #request(k: CallRequest["k"], target: RemoteTarget, method: string, args: unknown[], options: CallOptions): CallRequest {
    const request: CallRequest = { k, from: this.#nodeId, app: target.app, dep: target.deployment, rid: target.replicaId, method, args };
    if (options.timeoutMs !== undefined) request.timeoutMs = options.timeoutMs;
    if (options.longLived) request.longLived = true;
    if (options.traceparent !== undefined) request.traceparent = options.traceparent;
    if (options.tracestate !== undefined) request.tracestate = options.tracestate;
    if (k === "stream") request.credit = STREAM_WINDOW;
    return request;
  }

  #replySubject(): string {
    return `${this.#inbox}.${(++this.#next).toString(36)}`;
  }

  #publish(target: RemoteTarget, data: Uint8Array, reply: string, fail: (err: Error) => void): void {
    try {
      this.#bus.publish(callSubject(this.#cluster, target.node), data, reply);
    } catch (err) {
      fail(new ReplicaUnreachableError(`sending a call to node ${target.node} failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  #control(node: string, control: CallControl): void {
    try {
      this.#bus.publish(controlSubject(this.#cluster, node), encode(control, this.#bus.maxPayload, "a control message"));
    } catch {
      // Disconnected: the owner cancels our calls when it sees this node die.
    }
  }

  #onAnswer(message: BusMessage): void {
    const pending = this.#pending.get(message.subject);
    if (!pending) return;
    if (message.noResponders) {
      this.#onSuspect(pending.node);
      pending.fail(new ReplicaUnreachableError(`node ${pending.node} is not taking calls (no responders)`));
      return;
    }
    let answer: CallAnswer;
    try {
      answer = decode<CallAnswer>(message.data);
    } catch (err) {
      pending.fail(new ReplicaDiedError(`node ${pending.node} sent an unreadable answer`, { cause: err }));
      return;
    }
    pending.answer(answer);
  }
}

/** A unary call whose message was lost in transit: re-routable only if it never ran. */
function lostInTransit(state: "unknown" | "finished" | "running", target: RemoteTarget, method: string): Error {
  if (state === "unknown") {
    return new ReplicaUnreachableError(`${method}() never reached node ${target.node} (lost in transit while a NATS server connection broke)`);
  }
  return new ReplicaDiedError(`the answer of ${method}() from node ${target.node} was lost in transit while a NATS server connection broke`);
}
