// DeploymentHandle<T>: a typed client for a deployment. `handle.add.remote(1, 2)` is typed from
// the class's methods and returns a DeploymentResponse; `handle.options({ stream: true })` gives a
// handle whose `.remote()` returns a DeploymentResponseGenerator for async-generator methods.
// A handle is a Proxy over a small base object and calls through a CallTransport: the router in
// the main thread, the upcall port inside a replica. It is deliberately not thenable (`then` is
// never a method handle), so `await serve.run(app)` resolves to the handle itself.

import type { CallOptions, CallTransport } from "../runtime/call.ts";
import type { DeploymentId } from "../runtime/ids.ts";
import {
  DeploymentResponse,
  DeploymentResponseGenerator,
  resolveResponseArgs,
} from "./response.ts";

// biome-ignore lint: `any` is needed to accept every function signature in conditional types.
type AnyFn = (...args: any[]) => any;

/** Phantom marker so `bind()` can map a DeploymentHandle<U> parameter back to U. */
declare const handleTarget: unique symbol;

export interface HandleOptions {
  /** Call an async-generator method and iterate its items. */
  stream?: boolean;
  /** Reject with TimeoutError (and cancel in the replica) after this many ms. */
  timeoutMs?: number;
  /** Aborting it cancels every call made through this handle. */
  signal?: AbortSignal;
}

type RemoteArgs<P extends unknown[]> = { [I in keyof P]: P[I] | DeploymentResponse<P[I]> };
type YieldOf<R> = Awaited<R> extends AsyncIterable<infer Y> ? Y : Awaited<R> extends Iterable<infer Y> ? Y : never;

export interface RemoteMethod<F extends AnyFn> {
  remote(...args: RemoteArgs<Parameters<F>>): DeploymentResponse<Awaited<ReturnType<F>>>;
}

export interface StreamingRemoteMethod<F extends AnyFn> {
  remote(...args: RemoteArgs<Parameters<F>>): DeploymentResponseGenerator<YieldOf<ReturnType<F>>>;
}

/** Names a handle keeps for itself; a user method with one of these names is not reachable. */
type Reserved = "options" | "deploymentName" | "appName" | "then";

export interface HandleBase<T> {
  readonly deploymentName: string;
  readonly appName: string;
  options<const O extends HandleOptions>(options: O): O extends { stream: true } ? StreamingDeploymentHandle<T> : DeploymentHandle<T>;
  readonly [handleTarget]?: T;
}

export type DeploymentHandle<T> = HandleBase<T> & {
  readonly [K in keyof T as K extends Reserved ? never : T[K] extends AnyFn ? K : never]: RemoteMethod<Extract<T[K], AnyFn>>;
};

export type StreamingDeploymentHandle<T> = HandleBase<T> & {
  readonly [K in keyof T as K extends Reserved ? never : T[K] extends AnyFn ? K : never]: StreamingRemoteMethod<Extract<T[K], AnyFn>>;
};

/** Where a handle sends calls; a function is resolved on each call (late-bound runtimes). */
export type TransportSource = CallTransport | (() => CallTransport);

const HANDLE_BRAND = Symbol.for("stingray.deploymentHandle");

export function isDeploymentHandle(value: unknown): value is HandleBase<unknown> {
  return value !== null && typeof value === "object" && HANDLE_BRAND in value;
}

export function createDeploymentHandle<T>(
  target: DeploymentId,
  transport: TransportSource,
  options: HandleOptions = {},
): DeploymentHandle<T> {
  const id: DeploymentId = { app: target.app, deployment: target.deployment };
  const resolveTransport = typeof transport === "function" ? transport : () => transport;
  const methods = new Map<string, object>();

  const base = {
    [HANDLE_BRAND]: id,
    deploymentName: id.deployment,
    appName: id.app,
    options(next: HandleOptions) {
      return createDeploymentHandle<T>(id, transport, { ...options, ...next });
    },
    toString() {
      return `DeploymentHandle(${id.app}#${id.deployment})`;
    },
    [Symbol.toStringTag]: "DeploymentHandle",
    [Symbol.for("nodejs.util.inspect.custom")]() {
      return `DeploymentHandle(${id.app}#${id.deployment})`;
    },
  };

  const remoteFor = (method: string) => ({
    remote: (...args: unknown[]) => {
      const abort = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
      const callOptions = (): CallOptions => ({ signal, timeoutMs: options.timeoutMs });
      if (options.stream) {
        return new DeploymentResponseGenerator((_s) => streamCall(resolveTransport, id, method, args, callOptions()), abort);
      }
      return new DeploymentResponse(async () => {
        const resolved = await resolveResponseArgs(args);
        return resolveTransport().call(id, method, resolved, callOptions());
      }, abort);
    },
  });

  return new Proxy(base, {
    get(obj, prop, receiver) {
      if (prop in obj) return Reflect.get(obj, prop, receiver);
      if (typeof prop === "symbol" || prop === "then") return undefined;
      let m = methods.get(prop);
      if (!m) methods.set(prop, (m = remoteFor(prop)));
      return m;
    },
    has(obj, prop) {
      return prop in obj;
    },
    set() {
      return false;
    },
  }) as unknown as DeploymentHandle<T>;
}

async function* streamCall(
  transport: () => CallTransport,
  id: DeploymentId,
  method: string,
  args: unknown[],
  options: CallOptions,
): AsyncGenerator<unknown> {
  const resolved = await resolveResponseArgs(args);
  yield* transport().stream(id, method, resolved, options);
}
