// The caller's side of one cross-node stream: puts the owner's answers back in sequence order.
// Items arrive numbered; a duplicate (a replay after a lost message) is dropped; an item ahead of
// a missing one is held while the owner is asked to send again from the missing number (it keeps
// a short stream's messages for that); the stream fails only when the owner cannot replay.
// Pure: no NATS; the client feeds `push` and asks through `askFrom`.

import { ReplicaDiedError, ReplicaUnreachableError, deserializeError } from "../errors.ts";
import type { CallAnswer } from "./call-wire.ts";

export type StreamStep = { done: false; value: unknown } | { done: true };

/**
 * The error an owner answered with. "Undelivered" (the replica never saw the call) always reads
 * as ReplicaUnreachableError, which the router re-routes. `describe` names the call's target.
 */
export function answerError(a: Extract<CallAnswer, { k: "err" }>, describe: string): Error {
  const err = deserializeError(a.error);
  if (a.undelivered && !(err instanceof ReplicaUnreachableError)) {
    return new ReplicaUnreachableError(`${describe} did not take the call: ${err.message}`, { cause: err });
  }
  return err;
}

export class RemoteStream {
  readonly #describe: string;
  readonly #askFrom: (fromSeq: number) => void;
  /** Items and the end by sequence number, not yet consumed. */
  readonly #ahead = new Map<number, CallAnswer>();
  #expected = 1;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  /** The owner was asked to replay from #expected and has not answered yet. */
  #asked = false;
  /** Something arrived (the caller's first-answer deadline stops counting). */
  answered = false;
  /** The owner ended the stream (an end or an error): no cancel needed. */
  finished = false;

  /** `describe` names the stream in errors, e.g. "the stream from replica r1 on node b". */
  constructor(describe: string, askFrom: (fromSeq: number) => void) {
    this.#describe = describe;
    this.#askFrom = askFrom;
  }

  /** The next sequence number the consumer needs (what a status question asks from). */
  get expected(): number {
    return this.#expected;
  }

  push(a: CallAnswer): void {
    this.answered = true;
    switch (a.k) {
      case "item":
      case "end":
        if (a.seq < this.#expected) return; // already had it: a replay
        this.#ahead.set(a.seq, a);
        if (a.seq > this.#expected && !this.#ahead.has(this.#expected) && !this.#asked) {
          // A gap: something was lost in transit. Ask for it once; hold what came after.
          this.#asked = true;
          this.#askFrom(this.#expected);
        }
        break;
      case "err":
        this.finished = true;
        this.#failure ??= answerError(a, this.#describe);
        break;
      case "status":
        this.#asked = false;
        if (a.replay === true) break; // the missing messages were sent again
        if (a.state === "running" && !this.#hasGap()) break;
        this.#failure ??=
          a.state === "unknown" && this.#expected === 1 && this.#ahead.size === 0
            ? new ReplicaUnreachableError(`${this.#describe} never started (the call was lost in transit while a NATS server connection broke)`)
            : new ReplicaDiedError(`${this.#describe} lost messages in transit while a NATS server connection broke`);
        break;
      case "ok":
        this.#failure ??= new ReplicaDiedError(`${this.#describe} answered with a single value`);
        break;
    }
    this.#poke();
  }

  fail(err: Error): void {
    this.#failure ??= err;
    this.#poke();
  }

  /** The next item in order, the end, or the failure; waits while the next one is missing. */
  async next(): Promise<StreamStep> {
    for (;;) {
      const a = this.#ahead.get(this.#expected);
      if (a) {
        this.#ahead.delete(this.#expected);
        this.#expected++;
        if (a.k === "end") {
          this.finished = true;
          return { done: true };
        }
        if (a.k === "item") return { done: false, value: a.value };
      }
      if (this.#failure) throw this.#failure;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  #hasGap(): boolean {
    return this.#ahead.size > 0 && !this.#ahead.has(this.#expected);
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}
