// The replica side of cross-node calls: each node answers calls for the replicas it runs on its
// own subject (`stingray.<cluster>.call.<nodeId>`; the caller's router chose the node and the
// replica, never a queue group: CLUSTER.md rule 1). A call goes straight to the local replica
// actor, so it takes one of that replica's request slots and is refused as busy like any other
// call; the caller's router then picks another replica. A replica this node does not run (any
// more) answers "undelivered" at once, so the caller re-routes without waiting.
//
// Streams send items in order with sequence numbers, at most `credit` ahead of what the caller
// consumed (core NATS has no flow control: rule 8); the caller's `credit` messages let more go.
// Cancels (client gone, handle cancel, deadline) abort the call's signal in the replica. When the
// caller's node dies, its calls here are cancelled: nobody is left to read their answers.
//
// A message in transit through a NATS server that dies is lost. So the server remembers, for a
// while, which calls finished and (when small) their answers: a caller whose connection broke (or
// whose peer's did) asks about its calls in flight, and gets "running", the answer again,
// "unknown" (never arrived: it may go elsewhere) or "finished" (a stream, or an answer too large
// to keep: the caller fails it rather than run it twice).

import {
  ReplicaStoppedError,
  ReplicaUnreachableError,
  serializeError,
} from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { ReplicaActor } from "../runtime/replica.ts";
import type { BusSubscription, CallBus, BusMessage } from "./call-bus.ts";
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

/** How the server finds the replica a call names: routable replicas of this node only. */
export type LocalReplicaLookup = (app: string, deployment: string, replicaId: string) => ReplicaActor | undefined;

/** How long, and how many, finished calls are remembered for `status` questions. */
const FINISHED_TTL_MS = 30_000;
const MAX_FINISHED = 20_000;
/** Answers up to this size are kept to be sent again; larger ones are remembered as finished only. */
const MAX_KEPT_ANSWER_BYTES = 64 * 1024;

interface FinishedCall {
  at: number;
  /** The encoded final answer of a unary call, when small enough to keep. */
  answer: Uint8Array | undefined;
  /** A stream's messages in sequence order (items, then its end or error), when small enough. */
  sent: Uint8Array[] | undefined;
}

interface RunningCall {
  from: string;
  abort: AbortController;
  credit: number;
  /** Set while a stream waits for credit. */
  wake: (() => void) | undefined;
  /** A stream's messages so far (for replay after a loss), until they outgrow the limit. */
  sent: Uint8Array[] | undefined;
  sentBytes: number;
}

export class CallServer {
  readonly #bus: CallBus;
  readonly #cluster: string;
  readonly #nodeId: string;
  readonly #lookup: LocalReplicaLookup;
  readonly #log: Logger;
  readonly #calls = new Map<string, RunningCall>();
  /** Oldest first (insertion order), pruned by age and count. */
  readonly #finished = new Map<string, FinishedCall>();
  readonly #subs: BusSubscription[] = [];
  #idle: (() => void) | undefined;

  constructor(options: { bus: CallBus; cluster: string; nodeId: string; lookup: LocalReplicaLookup; log: Logger }) {
    this.#bus = options.bus;
    this.#cluster = options.cluster;
    this.#nodeId = options.nodeId;
    this.#lookup = options.lookup;
    this.#log = options.log;
  }

  /** Subscribes (and waits until the server knows it, rule 6) before the node says it serves. */
  async start(): Promise<void> {
    this.#subs.push(await this.#bus.subscribe(callSubject(this.#cluster, this.#nodeId), (m) => this.#onCall(m)));
    this.#subs.push(await this.#bus.subscribe(controlSubject(this.#cluster, this.#nodeId), (m) => this.#onControl(m)));
  }

  /** Calls running here for other nodes. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /** The caller's node died: cancel what it asked for. */
  cancelFrom(nodeId: string): number {
    let n = 0;
    for (const call of this.#calls.values()) {
      if (call.from !== nodeId) continue;
      call.abort.abort();
      call.wake?.();
      n++;
    }
    return n;
  }

  /**
   * Rule 5: stop taking calls (callers that still pick this node get no-responders and re-route),
   * then wait for the answers of calls already running, up to `timeoutMs`.
   */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.all(this.#subs.splice(0).map((s) => s.drain().catch(() => {})));
    if (this.#calls.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #onCall(message: BusMessage): void {
    const reply = message.reply;
    if (!reply) return;
    let request: CallRequest;
    try {
      request = decode<CallRequest>(message.data);
    } catch {
      return;
    }
    const actor = this.#lookup(request.app, request.dep, request.rid);
    if (!actor) {
      this.#answer(reply, {
        k: "err",
        undelivered: true,
        error: serializeError(new ReplicaUnreachableError(`replica ${request.rid} does not run on node ${this.#nodeId} now`)),
      });
      return;
    }
    const call: RunningCall = {
      from: request.from,
      abort: new AbortController(),
      credit: request.credit ?? STREAM_WINDOW,
      wake: undefined,
      sent: request.k === "stream" ? [] : undefined,
      sentBytes: 0,
    };
    this.#calls.set(reply, call);
    const options = {
      signal: call.abort.signal,
      ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
      ...(request.longLived ? { longLived: true } : {}),
      ...(request.traceparent !== undefined ? { traceparent: request.traceparent } : {}),
      ...(request.tracestate !== undefined ? { tracestate: request.tracestate } : {}),
    };
    const done = request.k === "stream" ? this.#runStream(actor, request, options, reply, call) : this.#runCall(actor, request, options, reply);
    void done.then((answer) => {
      this.#calls.delete(reply);
      this.#remember(reply, answer, call.sent);
      if (this.#calls.size === 0) this.#idle?.();
    });
  }

  /** Resolves with the encoded final answer (for `status` questions), never rejects. */
  async #runCall(actor: ReplicaActor, request: CallRequest, options: object, reply: string): Promise<Uint8Array | undefined> {
    try {
      const value = await actor.call(request.method, request.args, options);
      return this.#answer(reply, { k: "ok", value });
    } catch (err) {
      return this.#answerError(reply, err);
    }
  }

  async #runStream(actor: ReplicaActor, request: CallRequest, options: object, reply: string, call: RunningCall): Promise<undefined> {
    let seq = 0;
    let iterator: AsyncIterator<unknown> | undefined;
    try {
      iterator = actor.stream(request.method, request.args, options)[Symbol.asyncIterator]();
      for (;;) {
        while (call.credit <= 0 && !call.abort.signal.aborted) await new Promise<void>((r) => (call.wake = r));
        call.wake = undefined;
        if (call.abort.signal.aborted) return;
        // Items the replica sent together (an HTTP answer's head and its end) go out in one
        // socket write: nothing awaited between their publishes.
        const next = pollNow(iterator) ?? (await iterator.next());
        if (next.done) {
          this.#keep(call, this.#answer(reply, { k: "end", seq: ++seq }));
          iterator = undefined;
          return;
        }
        call.credit--;
        this.#keep(call, this.#answer(reply, { k: "item", seq: ++seq, value: next.value }, true));
      }
    } catch (err) {
      this.#keep(call, this.#answerError(reply, err));
    } finally {
      // Cancelled, or an item could not be sent: end the generator in the replica.
      if (iterator) void Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  #onControl(message: BusMessage): void {
    let control: CallControl;
    try {
      control = decode<CallControl>(message.data);
    } catch {
      return;
    }
    const call = this.#calls.get(control.reply);
    if (control.k === "status") {
      this.#answerStatus(control.reply, call, control.fromSeq ?? 1);
      return;
    }
    if (!call) return;
    if (control.k === "cancel") call.abort.abort();
    else call.credit += control.n;
    call.wake?.();
  }

  #answerError(reply: string, err: unknown): Uint8Array | undefined {
    // A stopping replica refused the call before running it: the caller may send it elsewhere.
    const undelivered = err instanceof ReplicaStoppedError;
    return this.#answer(reply, { k: "err", error: serializeError(err), ...(undelivered ? { undelivered: true } : {}) });
  }

  /** Keeps a stream's message for replay while the stream is small enough. */
  #keep(call: RunningCall, data: Uint8Array | undefined): void {
    if (!call.sent || !data) return;
    call.sentBytes += data.length;
    if (call.sentBytes > MAX_KEPT_ANSWER_BYTES) call.sent = undefined;
    else call.sent.push(data);
  }

  #remember(reply: string, answer: Uint8Array | undefined, sent: Uint8Array[] | undefined): void {
    const now = Date.now();
    for (const [key, f] of this.#finished) {
      if (now - f.at < FINISHED_TTL_MS && this.#finished.size < MAX_FINISHED) break;
      this.#finished.delete(key);
    }
    this.#finished.set(reply, { at: now, answer: answer && answer.length <= MAX_KEPT_ANSWER_BYTES ? answer : undefined, sent });
  }

  /**
   * What became of a call, for a caller that may have lost a message in transit: a unary answer
   * or a stream's messages from `fromSeq` are sent again when kept; otherwise its state.
   */
  #answerStatus(reply: string, running: RunningCall | undefined, fromSeq: number): void {
    const finished = running ? undefined : this.#finished.get(reply);
    if (finished?.answer) {
      this.#publish(reply, finished.answer);
      return;
    }
    const sent = running ? running.sent : finished?.sent;
    if (sent) for (const data of sent.slice(Math.max(0, fromSeq - 1))) this.#publish(reply, data);
    const state = running ? "running" : finished ? "finished" : "unknown";
    this.#answer(reply, { k: "status", state, ...(sent ? { replay: true } : {}) });
  }

  /** Calls this node answered recently (status questions), for tests. */
  get remembered(): number {
    return this.#finished.size;
  }

  /**
   * Sends an answer and returns its encoding; one too large for NATS becomes an error naming the
   * limit (unless `rethrow`).
   */
  #answer(reply: string, answer: CallAnswer, rethrow = false): Uint8Array | undefined {
    let data: Uint8Array;
    try {
      data = encode(answer, this.#bus.maxPayload, answer.k === "item" ? "a stream item" : "the call's result");
    } catch (err) {
      if (rethrow) throw err;
      data = encode({ k: "err", error: serializeError(err) }, this.#bus.maxPayload, "an error");
    }
    this.#publish(reply, data);
    return data;
  }

  #publish(reply: string, data: Uint8Array): void {
    try {
      this.#bus.publish(reply, data);
    } catch (err) {
      this.#log.debug({ err }, "answering a cross-node call failed (disconnected)");
    }
  }
}

/** The stream's next result if it is already here (a local replica's stream can say so). */
function pollNow(iterator: AsyncIterator<unknown>): IteratorResult<unknown> | undefined {
  return "poll" in iterator && typeof iterator.poll === "function" ? (iterator.poll() as IteratorResult<unknown> | undefined) : undefined;
}
