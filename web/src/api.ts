/** The typed API client: JSON in and out, a Bearer token, errors as {@link ApiError}. */

/** An error answer of the API (`{"error": {"code", "message", "details"?}}`) or of the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds to wait before retrying (from `Retry-After`), when the API said. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details: unknown = undefined,
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** Whether trying the same request again may succeed (network, 429, 5xx). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); null when absent. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

const GENERIC: Record<number, string> = {
  401: "Your session has expired. Please sign in again.",
  403: "You don't have access to this.",
  404: "Not found.",
  429: "Too many requests.",
};

/** The {@link ApiError} an unsuccessful response stands for (never throws itself). */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let code = `http_${response.status}`;
  let message = GENERIC[response.status] ?? `The server answered ${response.status}.`;
  let details: unknown = undefined;
  try {
    const body: unknown = await response.json();
    const error = (body as { error?: unknown } | null)?.error;
    if (error && typeof error === "object") {
      const e = error as Record<string, unknown>;
      if (typeof e.code === "string") code = e.code;
      if (typeof e.message === "string" && e.message) message = e.message;
      details = e.details;
    } else if (typeof error === "string") {
      code = error; // OAuth endpoints: {"error": "invalid_grant", "error_description"?}
      const description = (body as { error_description?: unknown }).error_description;
      if (typeof description === "string") message = description;
    }
  } catch {
    // not JSON: keep the generic message
  }
  return new ApiError(response.status, code, message, details, retryAfter);
}

export interface ApiOptions {
  /** API base URL (no trailing slash). */
  base: string;
  /** The current token (`Authorization: Bearer`), null when signed out. */
  token: () => string | null;
  /** Called once on a 401: true when a new token was obtained (the request is retried). */
  onUnauthorized?: () => Promise<boolean>;
  fetch?: typeof fetch;
}

/** A client of the tenant's API. */
export class Api {
  private readonly options: ApiOptions;

  constructor(options: ApiOptions) {
    this.options = options;
  }

  get base(): string {
    return this.options.base;
  }

  /** Send a request; the parsed JSON answer (undefined for 204), or throws {@link ApiError}. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { Accept: "application/json" };
      const token = this.options.token();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const doFetch = this.options.fetch ?? fetch;
      try {
        return await doFetch(this.options.base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new ApiError(0, "network_error", "Could not reach the server. Check your connection.");
      }
    };
    let response = await send();
    if (response.status === 401 && this.options.onUnauthorized) {
      if (await this.options.onUnauthorized()) response = await send();
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, undefined, signal);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, body);
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }
}

/** A sentence for an error: the API's message, with the wait for a 429. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfter !== null) {
      return `${error.message} Try again in ${error.retryAfter} second${error.retryAfter === 1 ? "" : "s"}.`;
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
