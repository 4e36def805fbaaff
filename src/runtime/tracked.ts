// A promise's outcome that can be read without awaiting it: the controller starts things (a
// replica's start, a probe, a stop) and on a later tick asks whether they finished, so one slow
// replica never blocks the loop.

export type Outcome = { done: false } | { done: true; error?: Error };

export const PENDING: Outcome = { done: false };

export class Tracked {
  #outcome: Outcome = PENDING;
  readonly startedAtMs: number;

  constructor(promise: Promise<unknown>, startedAtMs: number) {
    this.startedAtMs = startedAtMs;
    promise.then(
      () => (this.#outcome = { done: true }),
      (err: unknown) => (this.#outcome = { done: true, error: err instanceof Error ? err : new Error(String(err)) }),
    );
  }

  /** Tracks what `start()` returns; a synchronous throw becomes a rejection. */
  static start(start: () => Promise<unknown>, nowMs: number): Tracked {
    let p: Promise<unknown>;
    try {
      p = start();
    } catch (err) {
      p = Promise.reject(err);
    }
    return new Tracked(p, nowMs);
  }

  get outcome(): Outcome {
    return this.#outcome;
  }
}
