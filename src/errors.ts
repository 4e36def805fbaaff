// The runtime's error classes. Every error has a stable `code` that tests and callers assert on,
// and an optional `cause`. Errors that cross a thread boundary travel as SerializedError and are
// rebuilt here by name (see `deserializeError`), so a replica's TypeError stays a TypeError and a
// BackPressureError raised in a worker is still a BackPressureError in the main thread.

export const ErrorCode = {
  INVALID_OPTIONS: "STINGRAY_ERR_INVALID_OPTIONS",
  RESOURCE_UNAVAILABLE: "STINGRAY_ERR_RESOURCE_UNAVAILABLE",
  REPLICA_START_FAILED: "STINGRAY_ERR_REPLICA_START_FAILED",
  REPLICA_DIED: "STINGRAY_ERR_REPLICA_DIED",
  REPLICA_STOPPED: "STINGRAY_ERR_REPLICA_STOPPED",
  REPLICA_BUSY: "STINGRAY_ERR_REPLICA_BUSY",
  METHOD_NOT_FOUND: "STINGRAY_ERR_METHOD_NOT_FOUND",
  CANCELLED: "STINGRAY_ERR_CANCELLED",
  TIMEOUT: "STINGRAY_ERR_TIMEOUT",
  BACKPRESSURE: "STINGRAY_ERR_BACKPRESSURE",
  STREAM_LIMIT: "STINGRAY_ERR_STREAM_LIMIT",
  DEPLOYMENT_NOT_FOUND: "STINGRAY_ERR_DEPLOYMENT_NOT_FOUND",
  APP_NOT_FOUND: "STINGRAY_ERR_APP_NOT_FOUND",
  DEPLOY_FAILED: "STINGRAY_ERR_DEPLOY_FAILED",
  SHUTTING_DOWN: "STINGRAY_ERR_SHUTTING_DOWN",
  PAYLOAD_TOO_LARGE: "STINGRAY_ERR_PAYLOAD_TOO_LARGE",
  USER: "STINGRAY_ERR_USER",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StingrayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** A user option failed validation; the message names the option. */
export class InvalidOptionsError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INVALID_OPTIONS, message, options);
  }
}

/** Not enough of a resource to place a replica; `resource` names the short one. */
export class ResourceUnavailableError extends StingrayError {
  readonly resource: string;
  readonly requested: number;
  readonly available: number;
  constructor(resource: string, requested: number, available: number) {
    super(
      ErrorCode.RESOURCE_UNAVAILABLE,
      `not enough ${resource}: requested ${requested}, available ${available}`,
    );
    this.resource = resource;
    this.requested = requested;
    this.available = available;
  }
}

export class ReplicaStartError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REPLICA_START_FAILED, message, options);
  }
}

/** The replica's thread died (uncaught exception, process.exit, memory limit) with this call in flight. */
export class ReplicaDiedError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REPLICA_DIED, message, options);
  }
}

export class ReplicaStoppedError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REPLICA_STOPPED, message, options);
  }
}

/** The replica is at its concurrency limit; the router treats this as "pick another". */
export class ReplicaBusyError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REPLICA_BUSY, message, options);
  }
}

/**
 * A call to a replica on another node that never reached it (no node listened on its subject, or
 * the node no longer runs that replica). Nothing ran, so the router re-routes it like a busy
 * refusal; the cluster takes the replica out of routing.
 */
export class ReplicaUnreachableError extends ReplicaBusyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A message between nodes would exceed the NATS server's max_payload (default 1 MiB). */
export class PayloadTooLargeError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message, options);
  }
}

export class MethodNotFoundError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.METHOD_NOT_FOUND, message, options);
  }
}

export class CancelledError extends StingrayError {
  constructor(message = "the call was cancelled", options?: { cause?: unknown }) {
    super(ErrorCode.CANCELLED, message, options);
  }
}

export class TimeoutError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/** The caller-side queue is full (`maxQueuedRequests`); HTTP maps it to 503 with Retry-After. */
export class BackPressureError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.BACKPRESSURE, message, options);
  }
}

/**
 * Every replica that could take a long-lived stream already holds `maxOngoingStreams` of them;
 * HTTP maps it to 503 with Retry-After. Streams never queue: one frees up only when a client
 * leaves, which may be never.
 */
export class StreamLimitError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.STREAM_LIMIT, message, options);
  }
}

export class DeploymentNotFoundError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.DEPLOYMENT_NOT_FOUND, message, options);
  }
}

export class AppNotFoundError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.APP_NOT_FOUND, message, options);
  }
}

export class DeployFailedError extends StingrayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.DEPLOY_FAILED, message, options);
  }
}

export class ShuttingDownError extends StingrayError {
  constructor(message = "the runtime is shutting down", options?: { cause?: unknown }) {
    super(ErrorCode.SHUTTING_DOWN, message, options);
  }
}

/** How an error travels between threads (structured-clone safe). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
  /** Extra own enumerable data properties that are clone-safe (e.g. `resource`). */
  data?: Record<string, unknown>;
}

const RUNTIME_ERRORS: Record<string, new (message: string) => StingrayError> = {
  InvalidOptionsError,
  ReplicaStartError,
  ReplicaDiedError,
  ReplicaStoppedError,
  ReplicaBusyError,
  ReplicaUnreachableError,
  PayloadTooLargeError,
  MethodNotFoundError,
  CancelledError,
  TimeoutError,
  BackPressureError,
  StreamLimitError,
  DeploymentNotFoundError,
  AppNotFoundError,
  DeployFailedError,
  ShuttingDownError,
};

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { name: "Error", message: typeof err === "string" ? err : safeString(err) };
  }
  const out: SerializedError = { name: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  if (err.cause !== undefined && depth < 4) out.cause = serializeError(err.cause, depth + 1);
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === "code" || k === "cause") continue;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) data[k] = v;
  }
  if (Object.keys(data).length > 0) out.data = data;
  return out;
}

export function deserializeError(s: SerializedError): Error {
  let err: Error;
  if (s.name === "ResourceUnavailableError" && s.data) {
    err = new ResourceUnavailableError(
      String(s.data.resource),
      Number(s.data.requested),
      Number(s.data.available),
    );
    err.message = s.message;
  } else if (RUNTIME_ERRORS[s.name]) {
    err = new RUNTIME_ERRORS[s.name]!(s.message);
  } else {
    const Ctor = BUILTIN_ERRORS[s.name] ?? Error;
    err = new Ctor(s.message);
    if (!BUILTIN_ERRORS[s.name]) {
      // A user-defined error class: keep its name so callers can still tell it apart.
      Object.defineProperty(err, "name", { value: s.name, configurable: true, writable: true });
    }
    if (s.code !== undefined) (err as { code?: string }).code = s.code;
  }
  if (s.stack !== undefined) err.stack = s.stack;
  if (s.cause) (err as { cause?: unknown }).cause = deserializeError(s.cause);
  if (s.data) {
    for (const [k, v] of Object.entries(s.data)) {
      if (!(k in err)) (err as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return err;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return "non-error value thrown";
  }
}
