// How `status`, `deploy` and `shutdown` talk to a running runtime: plain HTTP to its status and
// admin API (see src/observability/http.ts). Failures become CliErrors with a message a user can
// act on ("is `stingray run` running?") instead of a fetch stack trace.

import type { StatusSnapshot } from "../observability/status.ts";
import { CliError, UnreachableError } from "./errors.ts";

export interface AdminClientOptions {
  /** Base URL of the runtime, e.g. http://127.0.0.1:8000. */
  address: string;
  /** Admin token (sent as a bearer token) when the runtime requires one. */
  token?: string;
  timeoutMs?: number;
}

export class AdminClient {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.#base = options.address.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  status(): Promise<StatusSnapshot> {
    return this.#request("GET", "/-/api/status") as Promise<StatusSnapshot>;
  }

  deploy(config: unknown): Promise<unknown> {
    return this.#request("POST", "/-/api/deploy", config);
  }

  shutdown(): Promise<unknown> {
    return this.#request("POST", "/-/api/shutdown", {});
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === "TimeoutError" ? `no answer within ${this.#timeoutMs / 1000}s` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new UnreachableError(`cannot reach a stingray runtime at ${this.#base} (${why}); is \`stingray run\` running there? (--address)`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(`${this.#base}${path} answered HTTP ${res.status} with something that is not JSON: is this a stingray runtime?`, 1);
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const message = error?.message ?? `HTTP ${res.status}`;
      // A 400 is the user's input (a config the runtime rejected): exit 2 like local validation.
      throw new CliError(`${message}${error?.code ? ` (${error.code})` : ""}`, res.status === 400 ? 2 : 1);
    }
    return json;
  }
}
