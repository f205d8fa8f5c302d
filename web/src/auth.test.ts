import { afterEach, describe, expect, it, vi } from "vitest";
import {
  REFRESH_MARGIN_MS,
  beginSignIn,
  codeChallenge,
  completeSignIn,
  decodeClaims,
  loadSession,
  randomString,
  refreshDelay,
  refreshSession,
  lastRelayed,
  relayLabel,
  relayTarget,
  rememberRelay,
  scheduleRefresh,
  signOut,
} from "./auth.ts";
import type { Session } from "./auth.ts";
import type { AuthEndpoints } from "./config.ts";

const AUTH: AuthEndpoints = {
  authorize: "http://acme.localhost:8000/oauth2/authorize",
  token: "http://acme.localhost:8000/oauth2/token",
  revoke: "http://acme.localhost:8000/oauth2/revoke",
  logout: "http://acme.localhost:8000/logout",
  client_id: "console",
  scopes: "openid email profile",
};
const ORIGIN = "http://acme.localhost:8000";

function jwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${encode({ alg: "RS256" })}.${encode(claims)}.signature`;
}

function tokenAnswer(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => sessionStorage.clear());

describe("PKCE", () => {
  it("makes verifiers of 43-128 URL-safe characters", () => {
    const verifier = randomString(48);
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(randomString(32)).toHaveLength(43);
    expect(randomString()).not.toBe(randomString());
  });

  it("computes the S256 challenge of RFC 7636's example", async () => {
    // RFC 7636 appendix B
    expect(await codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("redirects to authorize with the challenge and keeps the verifier and state", async () => {
    const url = new URL(await beginSignIn(AUTH, "/files", sessionStorage, ORIGIN));
    expect(url.origin + url.pathname).toBe(AUTH.authorize);
    const q = url.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe("console");
    expect(q.get("redirect_uri")).toBe(`${ORIGIN}/callback`);
    expect(q.get("scope")).toBe("openid email profile");
    expect(q.get("code_challenge_method")).toBe("S256");
    const pending = JSON.parse(sessionStorage.getItem("tenantkit.signin")!);
    expect(q.get("state")).toBe(pending.state);
    expect(q.get("code_challenge")).toBe(await codeChallenge(pending.verifier));
    expect(localStorage.length).toBe(0);
  });
});

describe("callback", () => {
  it("exchanges the code with the verifier when the state matches", async () => {
    const url = new URL(await beginSignIn(AUTH, "/files", sessionStorage, ORIGIN));
    const state = url.searchParams.get("state")!;
    const { verifier } = JSON.parse(sessionStorage.getItem("tenantkit.signin")!);
    const fetch = vi.fn(async () =>
      tokenAnswer({ id_token: "id", access_token: "at", refresh_token: "rt", expires_in: 900, token_type: "Bearer" }),
    );
    const { session, returnTo } = await completeSignIn(AUTH, `${ORIGIN}/callback?code=abc&state=${state}`, {
      fetch: fetch as unknown as typeof globalThis.fetch,
      now: () => 1_000_000,
    });
    expect(returnTo).toBe("/files");
    expect(session).toEqual({ idToken: "id", accessToken: "at", refreshToken: "rt", expiresAt: 1_000_000 + 900_000 });
    const [target, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(target).toBe(AUTH.token);
    const form = new URLSearchParams(init.body as string);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "authorization_code",
      code: "abc",
      redirect_uri: `${ORIGIN}/callback`,
      client_id: "console",
      code_verifier: verifier,
    });
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/x-www-form-urlencoded");
    // kept in sessionStorage, and the pending sign-in is used up
    expect(loadSession(sessionStorage, 1_000_000)?.idToken).toBe("id");
    expect(sessionStorage.getItem("tenantkit.signin")).toBeNull();
  });

  it("refuses a state that does not match, without calling the token endpoint", async () => {
    await beginSignIn(AUTH, "/", sessionStorage, ORIGIN);
    const fetch = vi.fn();
    await expect(
      completeSignIn(AUTH, `${ORIGIN}/callback?code=abc&state=forged`, { fetch: fetch as unknown as typeof globalThis.fetch }),
    ).rejects.toMatchObject({ code: "state_mismatch" });
    expect(fetch).not.toHaveBeenCalled();
    // the pending sign-in is gone: replaying the right state later fails too
    await expect(completeSignIn(AUTH, `${ORIGIN}/callback?code=abc&state=x`, { fetch: fetch as never })).rejects.toMatchObject({
      code: "no_pending_signin",
    });
  });

  it("reports the authorization server's error and a failed exchange", async () => {
    await beginSignIn(AUTH, "/", sessionStorage, ORIGIN);
    await expect(
      completeSignIn(AUTH, `${ORIGIN}/callback?error=access_denied&error_description=no`),
    ).rejects.toMatchObject({ code: "access_denied", message: "no" });
    const url = new URL(await beginSignIn(AUTH, "/", sessionStorage, ORIGIN));
    const fetch = async () => tokenAnswer({ error: "invalid_grant", error_description: "code used" }, 400);
    await expect(
      completeSignIn(AUTH, `${ORIGIN}/callback?code=c&state=${url.searchParams.get("state")}`, { fetch: fetch as never }),
    ).rejects.toMatchObject({ code: "invalid_grant", message: "code used" });
  });
});

describe("shared callback (one callback URL for every tenant's console)", () => {
  const SHARED: AuthEndpoints = {
    ...AUTH,
    authorize: "https://tenantkit.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
    token: "https://tenantkit.auth.eu-west-1.amazoncognito.com/oauth2/token",
    callback: "https://app.example.com/callback",
    signed_out: "https://app.example.com/signed-out",
  };
  const ACME = "https://acme.app.example.com";

  it("sends the shared callback as redirect_uri and names this console in the state", async () => {
    const url = new URL(await beginSignIn(SHARED, "/files", sessionStorage, ACME));
    expect(url.searchParams.get("redirect_uri")).toBe("https://app.example.com/callback");
    const state = url.searchParams.get("state")!;
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}~acme$/);
    expect(JSON.parse(sessionStorage.getItem("tenantkit.signin")!).state).toBe(state);
  });

  it("names no console on the callback's own host or outside its domain", async () => {
    expect(relayLabel(SHARED, "app.example.com")).toBeNull();
    expect(relayLabel(SHARED, "acme.app.example.com")).toBe("acme");
    expect(relayLabel(SHARED, "a.b.app.example.com")).toBeNull();
    expect(relayLabel(SHARED, "evilapp.example.com")).toBeNull();
    expect(relayLabel(AUTH, "acme.localhost")).toBeNull(); // no shared callback
    const url = new URL(await beginSignIn(SHARED, "/", sessionStorage, "https://app.example.com"));
    expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("relays an answer to the console named in the state, query kept", () => {
    const at = (href: string) => relayTarget(SHARED, { href });
    expect(at("https://app.example.com/callback?code=abc&state=xyz~acme")).toBe(
      "https://acme.app.example.com/callback?code=abc&state=xyz~acme",
    );
    expect(at("https://app.example.com/callback?error=access_denied&state=xyz~globex")).toBe(
      "https://globex.app.example.com/callback?error=access_denied&state=xyz~globex",
    );
    // the callback host's own answer (the operator's) is not relayed
    expect(at("https://app.example.com/callback?code=abc&state=xyz")).toBeNull();
  });

  it("never relays anywhere but a console under its own host", () => {
    const at = (href: string) => relayTarget(SHARED, { href });
    for (const state of ["x~evil.com", "x~evil.com/", "x~a.b", "x~", "x~-acme", "x~ACME", "x~acme@evil.com", "x~%2F%2Fevil"]) {
      expect(at(`https://app.example.com/callback?code=abc&state=${encodeURIComponent(state)}`)).toBeNull();
    }
    // only on the shared callback itself
    expect(at("https://acme.app.example.com/callback?code=abc&state=x~globex")).toBeNull();
    expect(at("https://app.example.com/other?code=abc&state=x~acme")).toBeNull();
    expect(relayTarget(AUTH, { href: "http://localhost:8000/callback?code=a&state=x~acme" })).toBeNull();
  });

  it("exchanges the code with the shared callback as redirect_uri", async () => {
    const url = new URL(await beginSignIn(SHARED, "/", sessionStorage, ACME));
    const state = url.searchParams.get("state")!;
    const fetch = vi.fn(async () => tokenAnswer({ id_token: "id", access_token: "at", expires_in: 900 }));
    await completeSignIn(SHARED, `${ACME}/callback?code=abc&state=${encodeURIComponent(state)}`, {
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(new URLSearchParams(init.body as string).get("redirect_uri")).toBe("https://app.example.com/callback");
  });

  it("remembers the console it relayed to, and offers only a console under its host", () => {
    expect(lastRelayed("https://app.example.com", sessionStorage)).toBeNull();
    rememberRelay("https://acme.app.example.com/callback?code=a&state=x~acme", sessionStorage);
    expect(lastRelayed("https://app.example.com", sessionStorage)).toBe("https://acme.app.example.com");
    for (const kept of ["https://evil.example", "https://a.b.app.example.com", "http://acme.app.example.com", "not a url"]) {
      sessionStorage.setItem("tenantkit.relayed", kept);
      expect(lastRelayed("https://app.example.com", sessionStorage)).toBeNull();
    }
  });

  it("signs out to the shared signed-out address", async () => {
    const fetch = vi.fn(async () => new Response(null, { status: 200 }));
    const url = new URL(await signOut(SHARED, null, { fetch: fetch as never, origin: ACME }));
    expect(url.searchParams.get("logout_uri")).toBe("https://app.example.com/signed-out");
  });
});

describe("refresh", () => {
  const session: Session = { idToken: "id", accessToken: "at", refreshToken: "rt", expiresAt: 1_000_000 };

  it("is scheduled a minute before expiry, and at once when that is past", () => {
    expect(refreshDelay(session, 1_000_000 - 900_000)).toBe(900_000 - REFRESH_MARGIN_MS);
    expect(refreshDelay(session, 1_000_000 - 30_000)).toBe(0);
    const setTimeout = vi.fn(() => 7 as unknown as ReturnType<typeof globalThis.setTimeout>);
    const clearTimeout = vi.fn();
    const refresh = () => undefined;
    const cancel = scheduleRefresh(session, refresh, {
      setTimeout: setTimeout as unknown as typeof globalThis.setTimeout,
      clearTimeout: clearTimeout as unknown as typeof globalThis.clearTimeout,
      now: () => 1_000_000 - 300_000,
    });
    expect(setTimeout).toHaveBeenCalledWith(refresh, 240_000);
    cancel();
    expect(clearTimeout).toHaveBeenCalledWith(7);
  });

  it("fires with fake timers and gets new tokens, keeping the refresh token", async () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(1_000_000 - 120_000);
      const fired = vi.fn();
      scheduleRefresh(session, fired);
      vi.advanceTimersByTime(59_999);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fired).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
    const fetch = vi.fn(async () => tokenAnswer({ id_token: "id2", access_token: "at2", expires_in: 60 }));
    const next = await refreshSession(AUTH, session, { fetch: fetch as never, now: () => 5 });
    expect(next).toEqual({ idToken: "id2", accessToken: "at2", refreshToken: "rt", expiresAt: 60_005 });
    const form = new URLSearchParams((fetch.mock.calls[0] as unknown as [string, RequestInit])[1].body as string);
    expect(Object.fromEntries(form)).toEqual({ grant_type: "refresh_token", refresh_token: "rt", client_id: "console" });
  });

  it("fails with invalid_grant when the server refuses (signed out)", async () => {
    const fetch = async () => tokenAnswer({ error: "invalid_grant" }, 400);
    await expect(refreshSession(AUTH, session, { fetch: fetch as never })).rejects.toMatchObject({ code: "invalid_grant" });
  });
});

describe("session", () => {
  it("decodes the tenant and roles claims", () => {
    const claims = decodeClaims(jwt({ sub: "u1", email: "a@acme.example", "custom:tenant_id": "acme", "cognito:groups": ["admin"] }));
    expect(claims).toMatchObject({ sub: "u1", email: "a@acme.example", tenant: "acme", roles: ["admin"] });
    expect(decodeClaims(jwt({ sub: "op", "cognito:groups": ["operator"] })).tenant).toBeNull();
    expect(() => decodeClaims("garbage")).toThrow();
  });

  it("signs out: revokes the refresh token, clears storage, returns the logout URL", async () => {
    sessionStorage.setItem("tenantkit.session", JSON.stringify({ idToken: "id", expiresAt: 1, refreshToken: "rt" }));
    const fetch = vi.fn(async () => new Response(null, { status: 200 }));
    const url = new URL(await signOut(AUTH, { idToken: "id", accessToken: "at", refreshToken: "rt", expiresAt: 1 }, { fetch: fetch as never, origin: ORIGIN }));
    const [target, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(target).toBe(AUTH.revoke);
    expect(Object.fromEntries(new URLSearchParams(init.body as string))).toEqual({ token: "rt", client_id: "console" });
    expect(sessionStorage.getItem("tenantkit.session")).toBeNull();
    expect(url.origin + url.pathname).toBe(AUTH.logout);
    expect(url.searchParams.get("logout_uri")).toBe(`${ORIGIN}/signed-out`);
    expect(url.searchParams.get("client_id")).toBe("console");
  });

  it("still signs out when revoking fails", async () => {
    const fetch = async () => {
      throw new TypeError("offline");
    };
    await expect(signOut(AUTH, { idToken: "i", accessToken: "a", refreshToken: "r", expiresAt: 1 }, { fetch: fetch as never, origin: ORIGIN })).resolves.toContain("/logout?");
  });
});
