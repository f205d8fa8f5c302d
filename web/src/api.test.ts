import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, describeError, errorFromResponse, parseRetryAfter } from "./api.ts";

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("errors", () => {
  it("reads the API's error body (code, message, details)", async () => {
    const error = await errorFromResponse(
      json({ error: { code: "validation_error", message: "invalid request body: name: too long", details: ["name"], request_id: "r" } }, 422),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: "validation_error", message: "invalid request body: name: too long", details: ["name"] });
    expect(error.retryable).toBe(false);
  });

  it("gives 429 its wait from Retry-After, in seconds or as a date", async () => {
    const error = await errorFromResponse(json({ error: { code: "rate_limited", message: "Too many requests." } }, 429, { "Retry-After": "7" }));
    expect(error.retryAfter).toBe(7);
    expect(error.retryable).toBe(true);
    expect(describeError(error)).toBe("Too many requests. Try again in 7 seconds.");
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });

  it("falls back to a sentence for bodies that are not the API's", async () => {
    const html = await errorFromResponse(new Response("<h1>Bad gateway</h1>", { status: 502 }));
    expect(html).toMatchObject({ status: 502, code: "http_502", message: "The server answered 502." });
    expect(html.retryable).toBe(true);
    const forbidden = await errorFromResponse(new Response("", { status: 403 }));
    expect(forbidden.message).toBe("You don't have access to this.");
    const oauth = await errorFromResponse(json({ error: "invalid_grant", error_description: "expired" }, 400));
    expect(oauth).toMatchObject({ code: "invalid_grant", message: "expired" });
  });
});

describe("client", () => {
  it("sends JSON with Accept and the Bearer token", async () => {
    const fetch = vi.fn(async () => json({ ok: 1 }, 200));
    const api = new Api({ base: "http://acme.localhost:8000", token: () => "tok", fetch: fetch as never });
    expect(await api.post("/conversations", { title: "x" })).toEqual({ ok: 1 });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://acme.localhost:8000/conversations");
    expect(init.method).toBe("POST");
    expect(init.headers).toEqual({ Accept: "application/json", Authorization: "Bearer tok", "Content-Type": "application/json" });
    expect(init.body).toBe('{"title":"x"}');
  });

  it("answers undefined for 204 and throws ApiError for errors", async () => {
    const responses = [new Response(null, { status: 204 }), json({ error: { code: "not_found", message: "no file 'x'" } }, 404)];
    const api = new Api({ base: "", token: () => null, fetch: (async () => responses.shift()!) as never });
    expect(await api.delete("/files/x")).toBeUndefined();
    await expect(api.get("/files/x")).rejects.toMatchObject({ status: 404, code: "not_found", message: "no file 'x'" });
  });

  it("refreshes once on 401 and retries with the new token", async () => {
    let token = "old";
    const fetch = vi.fn(async (_url: string, init: RequestInit) =>
      (init.headers as Record<string, string>).Authorization === "Bearer new" ? json({ me: 1 }, 200) : json({ error: { code: "unauthorized", message: "expired" } }, 401),
    );
    const onUnauthorized = vi.fn(async () => {
      token = "new";
      return true;
    });
    const api = new Api({ base: "", token: () => token, fetch: fetch as never, onUnauthorized });
    expect(await api.get("/users/me")).toEqual({ me: 1 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
    expect(fetch).toHaveBeenCalledTimes(2);
    // when refreshing fails, the 401 comes through (and the session sends to sign-in)
    const failing = new Api({ base: "", token: () => "x", fetch: (async () => json({}, 401)) as never, onUnauthorized: async () => false });
    await expect(failing.get("/users/me")).rejects.toMatchObject({ status: 401, message: "Your session has expired. Please sign in again." });
  });

  it("turns a network failure into a retryable error", async () => {
    const api = new Api({ base: "", token: () => null, fetch: (async () => { throw new TypeError("Failed to fetch"); }) as never });
    const error = await api.get("/files").catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: "network_error" });
    expect((error as ApiError).retryable).toBe(true);
  });
});
