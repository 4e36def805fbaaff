// What `handle.method.remote(...)` returns. A DeploymentResponse is awaitable (PromiseLike) and
// starts its call at once, as Ray's does; it can be cancelled, and it can be passed unawaited into
// another `.remote()` call, which resolves it before sending (it cannot cross a thread itself).
// A DeploymentResponseGenerator is the streaming form: an async iterable of a generator method's
// items; breaking out of the loop or `cancel()` cancels the call in the replica.

const RESPONSE_BRAND = Symbol.for("stingray.deploymentResponse");

export class DeploymentResponse<R> implements PromiseLike<R> {
  readonly #promise: Promise<R>;
  readonly #abort: AbortController;

  /** @internal Built by handles; `run` receives the signal that `cancel()` aborts. */
  constructor(run: (signal: AbortSignal) => Promise<R>, abort: AbortController) {
    this.#abort = abort;
    this.#promise = run(abort.signal);
    // Fire-and-forget calls are allowed (as in Ray): an ignored failure must not crash the process.
    // Chains built with then() still report their own unhandled rejections.
    this.#promise.catch(() => {});
  }

  get [RESPONSE_BRAND](): true {
    return true;
  }

  then<A = R, B = never>(
    onfulfilled?: ((value: R) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<R | B> {
    return this.#promise.catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<R> {
    return this.#promise.finally(onfinally);
  }

  /** Cancels the call: a queued request never runs, a running one sees its signal abort. */
  cancel(): void {
    this.#abort.abort();
  }

  get [Symbol.toStringTag](): string {
    return "DeploymentResponse";
  }
}

export function isDeploymentResponse(value: unknown): value is DeploymentResponse<unknown> {
  return value !== null && typeof value === "object" && (value as Record<symbol, unknown>)[RESPONSE_BRAND] === true;
}

export class DeploymentResponseGenerator<Y> implements AsyncIterable<Y> {
  readonly #source: AsyncIterable<Y>;
  readonly #abort: AbortController;
  #iterated = false;

  /** @internal Built by handles; `open` receives the signal that `cancel()` aborts. */
  constructor(open: (signal: AbortSignal) => AsyncIterable<Y>, abort: AbortController) {
    this.#abort = abort;
    this.#source = open(abort.signal);
  }

  [Symbol.asyncIterator](): AsyncIterator<Y> {
    if (this.#iterated) throw new TypeError("a DeploymentResponseGenerator can be iterated only once");
    this.#iterated = true;
    return this.#source[Symbol.asyncIterator]();
  }

  cancel(): void {
    this.#abort.abort();
  }

  get [Symbol.toStringTag](): string {
    return "DeploymentResponseGenerator";
  }
}

/** Awaits DeploymentResponses among the top-level arguments, as Ray resolves them before sending. */
export async function resolveResponseArgs(args: readonly unknown[]): Promise<unknown[]> {
  if (!args.some(isDeploymentResponse)) return [...args];
  return Promise.all(args.map((a) => (isDeploymentResponse(a) ? a.then((v) => v) : a)));
}
