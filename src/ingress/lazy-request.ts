// A web-standard Request that is built only when something needs more than its method, URL,
// headers or signal. Constructing an undici Request in full is the single largest cost a replica
// adds per HTTP request: with a body and a signal it takes ~85 µs on Node 20 (a ReadableStream and
// an AbortSignal, both made transferable, plus a followed signal), ~30 µs on Node 22. The MCP
// handler reads only method, headers and signal, and gets the body already parsed (mcp-app.ts),
// so most requests never pay for it.
//
// The object passes `instanceof Request` (its prototype chain ends in Request.prototype), serves
// method/url/headers/signal itself and hands everything else (body, text(), json(), clone(), …)
// to the real Request, created once on first use from the same Headers object, so header edits
// made before are kept. This is how @hono/node-server's lightweight Request works, which the MCP
// SDK's own Node transport passes to the same handlers.
//
// One limit of any such object: undici's own brand checks do not accept it, so
// `new Request(lazy)` and `fetch(lazy)` need the real one — `realRequest(lazy)` returns it.

const kState = Symbol("stingray.lazyRequest");

interface LazyState {
  url: string;
  method: string;
  headerPairs: Array<[string, string]>;
  body: Uint8Array | null;
  signal: AbortSignal;
  headers?: Headers;
  real?: Request;
}

interface LazyRequest extends Request {
  [kState]: LazyState;
}

function stateOf(request: Request): LazyState {
  const state = (request as Partial<LazyRequest>)[kState];
  if (!state) throw new TypeError("Illegal invocation: not a stingray request");
  return state;
}

function materialize(state: LazyState): Request {
  if (!state.real) {
    const init: RequestInit & { duplex?: "half" } = { method: state.method, headers: headersOf(state), signal: state.signal };
    if (state.body !== null) init.body = state.body as Uint8Array<ArrayBuffer>;
    state.real = new Request(state.url, init);
  }
  return state.real;
}

function headersOf(state: LazyState): Headers {
  return (state.headers ??= new Headers(state.headerPairs));
}

const prototype = Object.create(Request.prototype) as Record<PropertyKey, unknown>;
Object.defineProperties(prototype, {
  method: { get: function (this: Request) { return stateOf(this).method; } },
  url: { get: function (this: Request) { return stateOf(this).url; } },
  headers: { get: function (this: Request) { return headersOf(stateOf(this)); } },
  signal: { get: function (this: Request) { return stateOf(this).signal; } },
  bodyUsed: {
    get: function (this: Request) {
      const state = stateOf(this);
      return state.real ? state.real.bodyUsed : false;
    },
  },
  [Symbol.for("nodejs.util.inspect.custom")]: {
    value: function (this: Request, depth: number, options: object, inspect: (v: unknown, o: object) => string) {
      const state = stateOf(this);
      return `Request (stingray, lazy) ${inspect({ method: state.method, url: state.url, headers: headersOf(state) }, { ...options, depth: depth - 1 })}`;
    },
  },
});
for (const name of ["body", "cache", "credentials", "destination", "duplex", "integrity", "keepalive", "mode", "redirect", "referrer", "referrerPolicy"]) {
  Object.defineProperty(prototype, name, {
    get: function (this: Request) {
      return (materialize(stateOf(this)) as unknown as Record<string, unknown>)[name];
    },
  });
}
for (const name of ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"]) {
  Object.defineProperty(prototype, name, {
    value: function (this: Request) {
      const real = materialize(stateOf(this)) as unknown as Record<string, () => unknown>;
      return real[name]!.call(real);
    },
    writable: true,
    configurable: true,
  });
}

export interface LazyRequestInit {
  method: string;
  headers: Array<[string, string]>;
  /** Ignored for GET and HEAD. */
  body: Uint8Array | null;
  signal: AbortSignal;
}

export function lazyRequest(url: string, init: LazyRequestInit): Request {
  const request = Object.create(prototype) as LazyRequest;
  const hasBody = init.body !== null && init.method !== "GET" && init.method !== "HEAD";
  // Normalized like Request's own URL (percent-encoding, default port dropped).
  request[kState] = { url: new URL(url).href, method: init.method, headerPairs: init.headers, body: hasBody ? init.body : null, signal: init.signal };
  return request;
}

/** The full undici Request behind `request` (itself when it is not lazy), for `fetch` or `new Request`. */
export function realRequest(request: Request): Request {
  const state = (request as Partial<LazyRequest>)[kState];
  return state ? materialize(state) : request;
}
