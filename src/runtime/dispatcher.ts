// The HttpDispatcher the proxy talks to: routes come from the running applications (those whose
// ingress class carries an `@ingress` definition), and a request runs as a stream of the ingress
// deployment's HTTP_HANDLER_METHOD through the app's router — so HTTP gets the same replica
// limits, queueing, backpressure and re-routing as handle calls. Sticky sessions pin a replica.

import { AppNotFoundError, ReplicaDiedError } from "../errors.ts";
import type { AppRoute, DispatchOptions, DispatchResult, HttpDispatcher } from "../ingress/types.ts";
import type { Controller } from "./controller.ts";
import { HTTP_HANDLER_METHOD, type HttpResponseHead, type SerializedHttpRequest } from "./http-message.ts";
import type { ReplicaId } from "./ids.ts";

export class ControllerDispatcher implements HttpDispatcher {
  readonly #controller: Controller;

  constructor(controller: Controller) {
    this.#controller = controller;
  }

  routes(): AppRoute[] {
    const out: AppRoute[] = [];
    for (const name of this.#controller.applicationNames()) {
      const app = this.#controller.application(name);
      if (!app || app.routePrefix === null || !app.ingressDefinition) continue;
      out.push({ appName: name, routePrefix: app.routePrefix, ingress: app.ingressDefinition, deploymentName: app.ingress });
    }
    return out;
  }

  async dispatch(appName: string, request: SerializedHttpRequest, options: DispatchOptions): Promise<DispatchResult> {
    const app = this.#controller.application(appName);
    if (!app) throw new AppNotFoundError(`no application named "${appName}"`);
    const router = this.#controller.router({ app: appName, deployment: app.ingress });
    const opened = await router.openStream(HTTP_HANDLER_METHOD, [request], {
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      replicaId: options.replicaId,
      placement: options.placement,
      longLived: options.longLived,
      traceparent: options.traceparent,
      tracestate: options.tracestate,
    });
    if (opened.first.done || !isHead(opened.first.value)) {
      // Drain what is left so the replica slot is freed, then report the broken stream.
      await opened.rest[Symbol.asyncIterator]().return?.();
      throw new ReplicaDiedError(`replica ${opened.replicaId} ended the HTTP response without a head`);
    }
    return { replicaId: opened.replicaId, head: opened.first.value, body: opened.rest as AsyncIterable<Uint8Array> };
  }

  isReplicaAlive(replicaId: ReplicaId): boolean {
    return this.#controller.isReplicaRoutable(replicaId);
  }
}

function isHead(value: unknown): value is HttpResponseHead {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as HttpResponseHead).status === "number" &&
    Array.isArray((value as HttpResponseHead).headers)
  );
}
