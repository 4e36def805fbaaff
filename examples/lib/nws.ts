// A tiny client for the US National Weather Service API (https://www.weather.gov/documentation/services-web-api),
// as the MCP quickstart's weather server uses it: GET JSON with the User-Agent NWS asks every caller to
// send and `Accept: application/geo+json`, bounded by a timeout and by the caller's AbortSignal.
// Every failure becomes an NwsError with a stable `code` and a message that says what went wrong
// (HTTP status, timeout, network, bad JSON), so a tool can hand it to the model instead of hanging.

export const NWS_DEFAULT_BASE_URL = "https://api.weather.gov";
/** The tutorial's User-Agent; NWS rejects anonymous clients, so every request carries one. */
export const NWS_USER_AGENT = "weather-app/1.0";
export const NWS_DEFAULT_TIMEOUT_MS = 10_000;

export const NwsErrorCode = {
  HTTP: "NWS_ERR_HTTP",
  TIMEOUT: "NWS_ERR_TIMEOUT",
  ABORTED: "NWS_ERR_ABORTED",
  NETWORK: "NWS_ERR_NETWORK",
  BAD_RESPONSE: "NWS_ERR_BAD_RESPONSE",
} as const;
export type NwsErrorCode = (typeof NwsErrorCode)[keyof typeof NwsErrorCode];

export class NwsError extends Error {
  readonly code: NwsErrorCode;
  /** The HTTP status when NWS answered with one (code NWS_ERR_HTTP). */
  readonly status: number | undefined;
  readonly url: string;
  constructor(code: NwsErrorCode, message: string, url: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.code = code;
    this.url = url;
    this.status = options?.status;
  }
  override get name(): string {
    return "NwsError";
  }
}

export interface NwsClientOptions {
  /** API root; default https://api.weather.gov. A test points it at a fake server. */
  baseUrl?: string;
  /** Upper bound for one request, headers and body together; default 10000. */
  timeoutMs?: number;
  userAgent?: string;
}

/**
 * Reads NWS_API_BASE and NWS_TIMEOUT_MS. Bad values throw naming the variable, so a misconfigured
 * deployment fails at start-up instead of answering every tool call with a confusing error.
 */
export function nwsOptionsFromEnv(env: Record<string, string | undefined> = process.env): NwsClientOptions {
  const options: NwsClientOptions = {};
  const base = env.NWS_API_BASE;
  if (base !== undefined && base !== "") options.baseUrl = base;
  const timeout = env.NWS_TIMEOUT_MS;
  if (timeout !== undefined && timeout !== "") {
    const ms = Number(timeout);
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new TypeError(`NWS_TIMEOUT_MS must be a positive number of milliseconds, got ${JSON.stringify(timeout)}`);
    }
    options.timeoutMs = ms;
  }
  return options;
}

export class NwsClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #userAgent: string;

  constructor(options: NwsClientOptions = {}) {
    const base = options.baseUrl ?? NWS_DEFAULT_BASE_URL;
    if (!isHttpUrl(base)) {
      throw new TypeError(`NWS_API_BASE (baseUrl) must be an http(s) URL, got ${JSON.stringify(base)}`);
    }
    const timeoutMs = options.timeoutMs ?? NWS_DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`NWS_TIMEOUT_MS (timeoutMs) must be a positive number, got ${timeoutMs}`);
    }
    this.#baseUrl = base.replace(/\/+$/, "");
    this.#timeoutMs = timeoutMs;
    this.#userAgent = options.userAgent ?? NWS_USER_AGENT;
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** An absolute URL under the API root, e.g. `url("/points/1,2")`. */
  url(path: string): string {
    return `${this.#baseUrl}${path.startsWith("/") ? path : `/${path}`}`;
  }

  /**
   * GETs `url` and parses the JSON body. Rejects with NwsError on a non-2xx status, a timeout,
   * the caller's abort, a network failure or a body that is not JSON.
   */
  async getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    if (!isHttpUrl(url)) {
      throw new NwsError(NwsErrorCode.BAD_RESPONSE, `refusing to fetch a non-http(s) URL: ${url}`, url);
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    try {
      const res = await fetch(url, {
        headers: { "User-Agent": this.#userAgent, Accept: "application/geo+json" },
        signal: combined,
      });
      if (!res.ok) {
        // Drain so the connection can be reused; the problem+json body is not needed for the message.
        await res.body?.cancel().catch(() => {});
        const reason = res.statusText ? ` ${res.statusText}` : "";
        throw new NwsError(NwsErrorCode.HTTP, `NWS returned HTTP ${res.status}${reason} for ${url}`, url, {
          status: res.status,
        });
      }
      const text = await res.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw new NwsError(NwsErrorCode.BAD_RESPONSE, `NWS returned a body that is not JSON for ${url}`, url, {
          cause,
        });
      }
    } catch (err) {
      if (err instanceof NwsError) throw err;
      // Which signal fired decides the message: our deadline, or the caller going away.
      if (timeout.aborted) {
        throw new NwsError(NwsErrorCode.TIMEOUT, `NWS did not answer within ${this.#timeoutMs} ms for ${url}`, url, {
          cause: err,
        });
      }
      if (signal?.aborted) {
        throw new NwsError(NwsErrorCode.ABORTED, `the request was cancelled while fetching ${url}`, url, {
          cause: err,
        });
      }
      const detail = describeNetworkError(err);
      throw new NwsError(NwsErrorCode.NETWORK, `could not reach NWS at ${url}: ${detail}`, url, { cause: err });
    }
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** undici wraps the useful part ("ECONNREFUSED") in `cause`; surface it. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message;
  }
  return err.message;
}
