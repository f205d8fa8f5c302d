/**
 * Sign-in: OAuth 2.0 authorization code with PKCE (S256) against the deployment's
 * authorization server (Cognito's Hosted UI, or `tenantkit serve`'s local sign-in).
 *
 * Tokens live in memory and in `sessionStorage` (never `localStorage`); they are
 * refreshed {@link REFRESH_MARGIN_MS} before they expire.
 */
import type { AuthEndpoints } from "./config.ts";

/** Refresh this long before the token expires. */
export const REFRESH_MARGIN_MS = 60_000;

const PENDING_KEY = "tenantkit.signin";
const SESSION_KEY = "tenantkit.session";

export interface Session {
  idToken: string;
  accessToken: string;
  refreshToken: string | null;
  /** Epoch milliseconds at which the tokens expire. */
  expiresAt: number;
}

export interface Claims {
  sub: string;
  email?: string;
  tenant: string | null;
  roles: string[];
  exp?: number;
}

/** Thrown when signing in or refreshing fails; `reason` is shown to the person. */
export class AuthError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A random URL-safe string of `bytes` random bytes (32 bytes → 43 characters). */
export function randomString(bytes = 32): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return base64url(buffer);
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The claims of a JWT's payload (not verified: the API verifies; the console only displays). */
export function decodeClaims(token: string): Claims {
  const part = token.split(".")[1];
  if (!part) throw new AuthError("invalid_token", "The sign-in token is malformed.");
  const padded = part.replace(/-/g, "+").replace(/_/g, "/");
  const json = new TextDecoder().decode(
    Uint8Array.from(atob(padded + "=".repeat((4 - (padded.length % 4)) % 4)), (c) => c.charCodeAt(0)),
  );
  const raw = JSON.parse(json) as Record<string, unknown>;
  const groups = raw["cognito:groups"];
  const tenant = raw["custom:tenant_id"];
  return {
    sub: String(raw.sub ?? ""),
    email: typeof raw.email === "string" ? raw.email : undefined,
    tenant: typeof tenant === "string" && tenant ? tenant : null,
    roles: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === "string") : [],
    exp: typeof raw.exp === "number" ? raw.exp : undefined,
  };
}

/** The redirect URI sign-in answers go to: the deployment's shared callback, else `<origin>/callback`. */
export function redirectUri(auth: AuthEndpoints, origin: string = window.location.origin): string {
  return auth.callback ?? `${origin}/callback`;
}

/** A DNS label: what may stand before the console domain in a tenant's console host. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Separates the random part of `state` from the label of the console that asked. */
const STATE_LABEL = "~";

/**
 * The label of this console's host under the shared callback's host (`acme` for
 * `acme.app.example.com` when the callback is `https://app.example.com/callback`);
 * null without a shared callback, or on the callback's own host.
 */
export function relayLabel(auth: AuthEndpoints, hostname: string = window.location.hostname): string | null {
  return auth.callback ? labelUnder(hostname, new URL(auth.callback).hostname) : null;
}

/** The single DNS label `hostname` has directly under `home` (`acme` for `acme.<home>`), else null. */
function labelUnder(hostname: string, home: string): string | null {
  const here = hostname.toLowerCase();
  const base = home.toLowerCase();
  if (!here.endsWith(`.${base}`)) return null;
  const label = here.slice(0, -base.length - 1);
  return LABEL.test(label) ? label : null;
}

const RELAYED_KEY = "tenantkit.relayed";

/** On the shared callback: remember (for this tab) the console an answer was relayed to. */
export function rememberRelay(target: string, storage: Storage = sessionStorage): void {
  storage.setItem(RELAYED_KEY, new URL(target).origin);
}

/**
 * The console this tab last relayed a sign-in to, if it is one directly under `here`
 * (the shared signed-out page offers the way back to it); null otherwise.
 */
export function lastRelayed(here: string = window.location.origin, storage: Storage = sessionStorage): string | null {
  const kept = storage.getItem(RELAYED_KEY);
  if (!kept) return null;
  let url: URL;
  try {
    url = new URL(kept);
  } catch {
    return null;
  }
  const home = new URL(here);
  const under = labelUnder(url.hostname, home.hostname) !== null;
  return under && url.protocol === home.protocol && url.port === home.port ? url.origin : null;
}

/**
 * Where the shared callback sends a sign-in answer on: the `/callback` of the tenant
 * console named in `state` (`<random>~acme` → `https://acme.<this host>/callback`,
 * same query). Null when this page is not the shared callback, or `state` names no
 * console (an answer for this host itself). Only a single DNS label is taken, so the
 * answer can only go to a console under this host, never elsewhere.
 */
export function relayTarget(auth: AuthEndpoints, location: { href: string }): string | null {
  if (!auth.callback) return null;
  const url = new URL(location.href);
  const shared = new URL(auth.callback);
  if (url.origin !== shared.origin || url.pathname !== shared.pathname) return null;
  const state = url.searchParams.get("state") ?? "";
  const at = state.lastIndexOf(STATE_LABEL);
  if (at < 0) return null;
  const label = state.slice(at + 1);
  if (!LABEL.test(label)) return null;
  return `${url.protocol}//${label}.${url.host}${url.pathname}${url.search}`;
}

interface Pending {
  state: string;
  verifier: string;
  /** The page to return to after signing in. */
  returnTo: string;
}

/** The authorize URL to send the browser to; stores the verifier and state in `sessionStorage`. */
export async function beginSignIn(
  auth: AuthEndpoints,
  returnTo: string,
  storage: Storage = sessionStorage,
  origin: string = window.location.origin,
): Promise<string> {
  // Through a shared callback the state also names this console, so that the answer
  // is relayed back here (see relayTarget).
  const label = relayLabel(auth, new URL(origin).hostname);
  const state = randomString(16) + (label ? `${STATE_LABEL}${label}` : "");
  const pending: Pending = { state, verifier: randomString(48), returnTo };
  storage.setItem(PENDING_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: redirectUri(auth, origin),
    scope: auth.scopes,
    state: pending.state,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: "S256",
  });
  return `${auth.authorize}?${query.toString()}`;
}

interface TokenAnswer {
  id_token: string;
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

async function tokenRequest(
  auth: AuthEndpoints,
  form: Record<string, string>,
  doFetch: typeof fetch,
): Promise<TokenAnswer> {
  let response: Response;
  try {
    response = await doFetch(auth.token, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(form).toString(),
    });
  } catch {
    throw new AuthError("network_error", "Could not reach the sign-in service.");
  }
  const body = (await response.json().catch(() => ({}))) as Partial<TokenAnswer> & {
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.id_token || !body.access_token) {
    throw new AuthError(
      body.error ?? `http_${response.status}`,
      body.error_description ?? "Signing in failed. Please sign in again.",
    );
  }
  return body as TokenAnswer;
}

function sessionOf(answer: TokenAnswer, previousRefresh: string | null, now: number): Session {
  return {
    idToken: answer.id_token,
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token ?? previousRefresh,
    expiresAt: now + answer.expires_in * 1000,
  };
}

/**
 * Finish signing in on `/callback`: check `state`, exchange the code with the verifier.
 * Returns the session and the page to return to; throws {@link AuthError}.
 */
export async function completeSignIn(
  auth: AuthEndpoints,
  callbackUrl: string,
  options: { storage?: Storage; fetch?: typeof fetch; now?: () => number } = {},
): Promise<{ session: Session; returnTo: string }> {
  const storage = options.storage ?? sessionStorage;
  const url = new URL(callbackUrl);
  const pendingText = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY); // single use, whatever happens
  const error = url.searchParams.get("error");
  if (error) {
    throw new AuthError(error, url.searchParams.get("error_description") ?? "Signing in was refused.");
  }
  if (!pendingText) throw new AuthError("no_pending_signin", "This sign-in was not started here. Please sign in again.");
  const pending = JSON.parse(pendingText) as Pending;
  const code = url.searchParams.get("code");
  if (!code || url.searchParams.get("state") !== pending.state) {
    throw new AuthError("state_mismatch", "The sign-in answer does not match this browser's request. Please sign in again.");
  }
  const answer = await tokenRequest(
    auth,
    {
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(auth, url.origin),
      client_id: auth.client_id,
      code_verifier: pending.verifier,
    },
    options.fetch ?? fetch,
  );
  const session = sessionOf(answer, null, (options.now ?? Date.now)());
  saveSession(session, storage);
  return { session, returnTo: pending.returnTo || "/" };
}

/** New tokens from the refresh token; throws {@link AuthError} (`invalid_grant`: signed out). */
export async function refreshSession(
  auth: AuthEndpoints,
  session: Session,
  options: { storage?: Storage; fetch?: typeof fetch; now?: () => number } = {},
): Promise<Session> {
  if (!session.refreshToken) throw new AuthError("invalid_grant", "Your session has expired.");
  const answer = await tokenRequest(
    auth,
    { grant_type: "refresh_token", refresh_token: session.refreshToken, client_id: auth.client_id },
    options.fetch ?? fetch,
  );
  const next = sessionOf(answer, session.refreshToken, (options.now ?? Date.now)());
  saveSession(next, options.storage ?? sessionStorage);
  return next;
}

/** Milliseconds until the session should be refreshed (0: now). */
export function refreshDelay(session: Session, now: number = Date.now()): number {
  return Math.max(0, session.expiresAt - REFRESH_MARGIN_MS - now);
}

/**
 * Run `refresh` {@link REFRESH_MARGIN_MS} before the session expires; returns the cancel
 * function. Timers are injectable for tests.
 */
export function scheduleRefresh(
  session: Session,
  refresh: () => void,
  timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout; now: () => number } = {
    setTimeout: globalThis.setTimeout.bind(globalThis),
    clearTimeout: globalThis.clearTimeout.bind(globalThis),
    now: Date.now,
  },
): () => void {
  const handle = timers.setTimeout(refresh, refreshDelay(session, timers.now()));
  return () => timers.clearTimeout(handle);
}

export function saveSession(session: Session, storage: Storage = sessionStorage): void {
  storage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** The session kept in `sessionStorage`, if any and not expired. */
export function loadSession(storage: Storage = sessionStorage, now: number = Date.now()): Session | null {
  const text = storage.getItem(SESSION_KEY);
  if (!text) return null;
  try {
    const session = JSON.parse(text) as Session;
    if (typeof session.idToken !== "string" || typeof session.expiresAt !== "number") return null;
    if (session.expiresAt <= now && !session.refreshToken) return null;
    return session;
  } catch {
    return null;
  }
}

export function clearSession(storage: Storage = sessionStorage): void {
  storage.removeItem(SESSION_KEY);
  storage.removeItem(PENDING_KEY);
}

/**
 * Sign out: revoke the refresh token (best effort), clear storage, and return the
 * logout URL to navigate to.
 */
export async function signOut(
  auth: AuthEndpoints,
  session: Session | null,
  options: { storage?: Storage; fetch?: typeof fetch; origin?: string } = {},
): Promise<string> {
  if (session?.refreshToken) {
    try {
      await (options.fetch ?? fetch)(auth.revoke, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: session.refreshToken, client_id: auth.client_id }).toString(),
      });
    } catch {
      // the tokens are forgotten here anyway; they expire on their own
    }
  }
  clearSession(options.storage ?? sessionStorage);
  const origin = options.origin ?? window.location.origin;
  const query = new URLSearchParams({ client_id: auth.client_id, logout_uri: auth.signed_out ?? `${origin}/signed-out` });
  return `${auth.logout}?${query.toString()}`;
}
