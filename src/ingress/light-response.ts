// A Response class that keeps a simple body (a string, bytes or nothing) as given and builds the
// real undici Response only when something needs it. A replica serving MCP answers each request
// with `Response.json(...)`; on Node 20 constructing it (a transferable ReadableStream around the
// text) and reading the text back out of that stream cost ~35 µs a request, 10% of the replica's
// CPU in a profile. With this class the HTTP bridge takes the bytes directly (`simpleBodyOf`).
//
// `installLightResponse()` puts it in place of the global `Response` of the thread it runs in (a
// replica worker that serves an MCP ingress), which is how @hono/node-server serves its requests by
// default. It is a subclass in every way code can observe: `instanceof Response` holds both for
// its instances and for native ones (fetch results), the statics are the native ones plus `json`,
// and every property or method other than status/ok/statusText/headers goes to the real Response.

// The native class, kept under a registered symbol so a second copy of this module (a user's import
// of "stingray" beside the runtime's own) still finds it after the first copy replaced the global.
const NATIVE = Symbol.for("stingray.nativeResponse");
const NativeResponse: typeof Response = ((globalThis as { [NATIVE]?: typeof Response })[NATIVE] ??= globalThis.Response);
const kState = Symbol("stingray.lightResponse");

type SimpleBody = string | Uint8Array | null | undefined;

interface State {
  body: SimpleBody;
  init: ResponseInit | undefined;
  status: number;
  headers?: Headers;
  real?: Response;
  /** The bridge took the body bytes: the Response is spent. */
  taken?: boolean;
}

// Statuses whose responses have no body (fetch spec "null body status"), and the valid range.
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function isSimple(body: unknown, init: ResponseInit | undefined): boolean {
  const simpleBody = typeof body === "string" || body instanceof Uint8Array || body === null || body === undefined;
  const status = init?.status ?? 200;
  if (!simpleBody || typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) return false;
  // A statusText is validated by the native constructor: let it.
  if (init?.statusText !== undefined) return false;
  return !(body !== null && body !== undefined && NULL_BODY_STATUS.has(status));
}

function materialize(state: State): Response {
  if (!state.real) {
    const init: ResponseInit = { ...state.init, headers: state.headers ?? state.init?.headers };
    const body = state.taken ? null : state.body;
    state.real = new NativeResponse(body as BodyInit | null | undefined, init);
  }
  return state.real;
}

function stateOf(response: unknown): State {
  const state = (response as { [kState]?: State } | null)?.[kState];
  if (!state) throw new TypeError("Illegal invocation: not a stingray response");
  return state;
}

export class LightResponse {
  declare [kState]: State;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const simple = isSimple(body, init);
    // Like the native class: the bytes are copied, so later writes to the caller's array do not
    // change the body.
    const kept = simple && body instanceof Uint8Array ? body.slice() : body;
    const state: State = { body: kept as SimpleBody, init, status: init?.status ?? 200 };
    Object.defineProperty(this, kState, { value: state });
    // Anything else (streams, forms, bad statuses) is built now, and so are given headers, so
    // errors surface where the native class raises them.
    if (!simple) materialize(state);
    else if (init?.headers !== undefined) this.headers;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) return NativeResponse.json(data, init); // throws the native TypeError
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    if (!isSimple(text, init)) return new LightResponse(text, { ...init, headers }) as unknown as Response;
    // The Headers just built are the response's own (no second copy).
    const response = Object.create(LightResponse.prototype) as LightResponse;
    const state: State = { body: text, init, status: init?.status ?? 200, headers };
    Object.defineProperty(response, kState, { value: state });
    return response as unknown as Response;
  }

  static [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    // Native responses (fetch results) are Responses too once this class stands in for the global;
    // a user's subclass keeps the ordinary check.
    if (this !== LightResponse) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && Object.prototype.isPrototypeOf.call(NativeResponse.prototype, value);
  }

  get status(): number {
    const state = stateOf(this);
    return state.real ? state.real.status : state.status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status < 300;
  }

  get statusText(): string {
    const state = stateOf(this);
    return state.real ? state.real.statusText : (state.init?.statusText ?? "");
  }

  get headers(): Headers {
    const state = stateOf(this);
    if (state.real) return state.real.headers;
    if (!state.headers) {
      const headers = new Headers(state.init?.headers);
      // What the native constructor adds for a text body.
      if (typeof state.body === "string" && !headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
      state.headers = headers;
    }
    return state.headers;
  }

  get bodyUsed(): boolean {
    const state = stateOf(this);
    return state.real ? state.real.bodyUsed : state.taken === true;
  }
}

for (const name of ["body", "redirected", "type", "url"]) {
  Object.defineProperty(LightResponse.prototype, name, {
    get: function (this: LightResponse) {
      return (materialize(stateOf(this)) as unknown as Record<string, unknown>)[name];
    },
    configurable: true,
  });
}
for (const name of ["arrayBuffer", "blob", "bytes", "clone", "formData", "json", "text"]) {
  Object.defineProperty(LightResponse.prototype, name, {
    value: function (this: LightResponse) {
      const real = materialize(stateOf(this)) as unknown as Record<string, () => unknown>;
      return real[name]!.call(real);
    },
    writable: true,
    configurable: true,
  });
}
Object.defineProperty(LightResponse.prototype, Symbol.for("nodejs.util.inspect.custom"), {
  value: function (this: LightResponse, depth: number, options: object, inspect: (v: unknown, o: object) => string) {
    const state = stateOf(this);
    if (state.real) return inspect(state.real, options);
    return `Response (stingray, light) ${inspect({ status: this.status, headers: this.headers, body: state.body }, { ...options, depth: depth - 1 })}`;
  },
});
Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(LightResponse, NativeResponse);

/**
 * The body of a LightResponse that was never built, as bytes, taking it (the Response is spent
 * after this); undefined for any other Response, which must be read through its stream.
 */
export function takeSimpleBody(response: Response): { bytes: Uint8Array | null } | undefined {
  const state = (response as { [kState]?: State })[kState];
  if (!state || state.real || state.taken) return undefined;
  state.taken = true;
  const body = state.body;
  if (body === null || body === undefined) return { bytes: null };
  return { bytes: typeof body === "string" ? Buffer.from(body, "utf8") : body };
}

/** Makes `Response` in this thread the light class (idempotent). */
export function installLightResponse(): void {
  if (globalThis.Response !== (LightResponse as unknown as typeof Response)) {
    globalThis.Response = LightResponse as unknown as typeof Response;
  }
}
