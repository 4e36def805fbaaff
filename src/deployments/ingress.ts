// The `@ingress(definition)` class decorator: marks a deployment class as the HTTP entry of its
// application. It stores the definition on the class (static [INGRESS], read by the proxy in the
// main thread) and installs the replica method HTTP_HANDLER_METHOD, an async generator that the
// serve layer streams: it builds the definition's fetch handler once per instance, runs one
// request through it and yields the response head and body chunks.
//
// Also here: `fetchApp(create)`, the plain web-standard ingress (any fetch(Request) → Response).

import { InvalidOptionsError } from "../errors.ts";
import { currentCallScope } from "../runtime/call-context.ts";
import { HTTP_HANDLER_METHOD, type HttpStreamItem, type SerializedHttpRequest } from "../runtime/http-message.ts";
import { followSignal, serveHttp } from "../ingress/http-bridge.ts";
import { parseFetchAppOptions, type FetchAppOptions } from "../ingress/options.ts";
import { INGRESS, type FetchHandler, type IngressDefinition } from "./ingress-definition.ts";

type AnyClass = abstract new (...args: never[]) => unknown;

/** The method `@ingress` installs; `signal` is for in-process callers (the worker uses the call's own). */
export type IngressHttpMethod = (
  this: object,
  request: SerializedHttpRequest,
  signal?: AbortSignal,
) => AsyncGenerator<HttpStreamItem, void, undefined>;

export function ingress(definition: IngressDefinition) {
  assertDefinition(definition);
  return function <C extends AnyClass>(cls: C, _context?: ClassDecoratorContext<C>): C {
    if (typeof cls !== "function") {
      throw new InvalidOptionsError("@ingress(...) decorates a class; put it below @deployment(...)");
    }
    installIngress(cls, definition);
    return cls;
  };
}

/** The same as the decorator, for code that builds classes without decorator syntax. */
export function installIngress(cls: AnyClass, definition: IngressDefinition): void {
  assertDefinition(definition);
  const handlers = new WeakMap<object, Promise<FetchHandler>>();
  const handlerFor = (instance: object): Promise<FetchHandler> => {
    let handler = handlers.get(instance);
    if (!handler) {
      handler = Promise.resolve().then(() => definition.createHandler(instance));
      // A failed build is retried on the next request rather than cached forever.
      handler.catch(() => handlers.delete(instance));
      handlers.set(instance, handler);
    }
    return handler;
  };
  const method: IngressHttpMethod = async function* (request, signal) {
    const handler = await handlerFor(this);
    const serveOptions = { lazyRequest: definition.lazyRequest === true };
    // In a replica the call's own scope is the cancellation; an in-process caller passes a signal.
    const scope = currentCallScope();
    if (scope) return yield* serveHttp(handler, request, scope, serveOptions);
    const followed = followSignal(signal);
    try {
      yield* serveHttp(handler, request, followed, serveOptions);
    } finally {
      followed.dispose();
    }
  };
  Object.defineProperty(cls.prototype, HTTP_HANDLER_METHOD, {
    value: method,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  Object.defineProperty(cls, INGRESS, { value: definition, configurable: true, enumerable: false, writable: false });
}

/** The ingress definition a class was decorated with, if any. */
export function ingressOf(cls: unknown): IngressDefinition | undefined {
  if (typeof cls !== "function") return undefined;
  return (cls as unknown as { [INGRESS]?: IngressDefinition })[INGRESS];
}

/**
 * A plain HTTP ingress: `create(instance)` returns the replica's fetch handler (default: the
 * instance's own `fetch(request, context)` method). The proxy forwards every path under the
 * application's route prefix to it, with the body limit and Host/Origin checks but no MCP rules.
 */
export function fetchApp(
  create?: (instance: object) => FetchHandler | Promise<FetchHandler>,
  options?: FetchAppOptions,
): IngressDefinition {
  const proxyOptions = parseFetchAppOptions(options);
  return {
    kind: "fetch",
    createHandler:
      create ??
      ((instance) => {
        const fetch = (instance as { fetch?: unknown }).fetch;
        if (typeof fetch !== "function") {
          throw new InvalidOptionsError("fetchApp(): the class has no fetch(request, context) method and no create function was given");
        }
        return fetch.bind(instance) as FetchHandler;
      }),
    proxyOptions,
  };
}

function assertDefinition(definition: IngressDefinition): void {
  if (!definition || typeof definition !== "object" || typeof definition.createHandler !== "function") {
    throw new InvalidOptionsError("@ingress(definition): definition must come from mcpApp(...) or fetchApp(...)");
  }
  if (definition.kind !== "mcp" && definition.kind !== "fetch") {
    throw new InvalidOptionsError(`@ingress(definition): kind must be "mcp" or "fetch", got ${String(definition.kind)}`);
  }
}
