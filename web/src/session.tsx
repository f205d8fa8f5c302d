/** The signed-in session as React context: config, branding, tokens, the API client. */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ReactNode } from "react";
import { Api } from "./api.ts";
import {
  AuthError,
  beginSignIn,
  clearSession,
  completeSignIn,
  decodeClaims,
  lastRelayed,
  loadSession,
  refreshSession,
  relayTarget,
  rememberRelay,
  scheduleRefresh,
  signOut as signOutUrl,
} from "./auth.ts";
import type { Claims, Session } from "./auth.ts";
import { loadConfig, tenantFromHost } from "./config.ts";
import type { ConsoleConfig } from "./config.ts";
import { applyTheme, themeFor } from "./theme.ts";

export interface Branding {
  tenant: string | null;
  display_name: string;
  primary_color: string | null;
  logo_url: string | null;
  support_email: string | null;
}

export interface SessionValue {
  config: ConsoleConfig;
  branding: Branding;
  session: Session;
  claims: Claims;
  api: Api;
  isAdmin: boolean;
  isOperator: boolean;
  /** The current id token (changes on refresh). */
  token: () => string | null;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

const NEUTRAL: Branding = {
  tenant: null,
  display_name: "Console",
  primary_color: null,
  logo_url: null,
  support_email: null,
};

async function loadBranding(config: ConsoleConfig): Promise<Branding> {
  try {
    const response = await fetch(
      `${config.api}/branding?host=${encodeURIComponent(window.location.host)}`,
      { headers: { Accept: "application/json" } },
    );
    if (!response.ok) return NEUTRAL;
    return { ...NEUTRAL, ...((await response.json()) as Partial<Branding>) };
  } catch {
    return NEUTRAL;
  }
}

type State =
  | { kind: "loading" }
  | { kind: "ready"; config: ConsoleConfig; branding: Branding; session: Session }
  | {
      kind: "signed-out";
      config: ConsoleConfig | null;
      branding: Branding;
      message: string | null;
      /** On the shared signed-out page: that every console's sign-out ends here, and the console to go back to. */
      shared?: { back: string | null };
    };

function returnPath(): string {
  const { pathname, search } = window.location;
  return pathname === "/callback" || pathname === "/signed-out" ? "/" : pathname + search;
}

/** Send the browser to the sign-in page (a full navigation). */
async function redirectToSignIn(config: ConsoleConfig, returnTo = returnPath()): Promise<void> {
  window.location.assign(await beginSignIn(config.auth, returnTo));
}

/** The window event the Settings page sends with the saved branding (its `detail`). */
export const BRANDING_CHANGED = "tenantkit:branding";

export const OTHER_ORGANISATION = "This account belongs to another organisation.";
/** Shown where every console's sign-out ends when the deployment shares one address. */
export const SIGNED_OUT_SHARED =
  "You are signed out. To sign in again, open your organisation's console address.";

export function SessionProvider({ children }: { children: ReactNode }): ReactNode {
  const [state, setState] = useState<State>({ kind: "loading" });
  const sessionRef = useRef<Session | null>(null);
  const refreshing = useRef<Promise<boolean> | null>(null);

  const adopt = useCallback((config: ConsoleConfig, branding: Branding, session: Session) => {
    sessionRef.current = session;
    setState({ kind: "ready", config, branding, session });
  }, []);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      let config: ConsoleConfig;
      try {
        config = await loadConfig();
      } catch {
        setState({ kind: "signed-out", config: null, branding: NEUTRAL, message: "The console's configuration could not be loaded." });
        return;
      }
      if (window.location.pathname === "/callback") {
        // The shared callback relays a tenant console's sign-in answer to that console.
        const target = relayTarget(config.auth, window.location);
        if (target) {
          rememberRelay(target);
          window.location.replace(target);
          return;
        }
      }
      const branding = await loadBranding(config);
      applyTheme(themeFor(branding.primary_color));
      document.title = branding.display_name;
      if (cancelled) return;
      const path = window.location.pathname;
      if (path === "/signed-out") {
        // Every console's sign-out ends on the shared address when there is one.
        const shared = config.auth.signed_out && new URL(config.auth.signed_out).origin === window.location.origin;
        setState({
          kind: "signed-out",
          config,
          branding,
          message: null,
          shared: shared ? { back: lastRelayed() } : undefined,
        });
        return;
      }
      let session: Session | null = null;
      if (path === "/callback") {
        try {
          const done = await completeSignIn(config.auth, window.location.href);
          session = done.session;
          window.history.replaceState(null, "", done.returnTo);
        } catch (error) {
          const message = error instanceof AuthError ? error.message : "Signing in failed.";
          setState({ kind: "signed-out", config, branding, message });
          window.history.replaceState(null, "", "/signed-out");
          return;
        }
      } else {
        session = loadSession();
        if (session && session.expiresAt <= Date.now()) {
          try {
            session = await refreshSession(config.auth, session);
          } catch {
            clearSession();
            session = null;
          }
        }
        if (!session) {
          await redirectToSignIn(config);
          return;
        }
      }
      const claims = decodeClaims(session.idToken);
      const hostTenant = tenantFromHost(window.location.hostname);
      if (claims.tenant !== hostTenant && !(hostTenant === null && claims.roles.includes("operator"))) {
        await signOutUrl(config.auth, session).catch(() => undefined);
        setState({ kind: "signed-out", config, branding, message: OTHER_ORGANISATION });
        window.history.replaceState(null, "", "/signed-out");
        return;
      }
      if (!cancelled) adopt(config, branding, session);
    })();
    return () => {
      cancelled = true;
    };
  }, [adopt]);

  const refresh = useCallback(async (): Promise<boolean> => {
    if (state.kind !== "ready") return false;
    refreshing.current ??= (async () => {
      const current = sessionRef.current;
      if (!current) return false;
      try {
        adopt(state.config, state.branding, await refreshSession(state.config.auth, current));
        return true;
      } catch {
        clearSession();
        sessionRef.current = null;
        await redirectToSignIn(state.config);
        return false;
      } finally {
        refreshing.current = null;
      }
    })();
    return refreshing.current;
  }, [state, adopt]);

  // The Settings page announces saved branding: the header takes the new name and logo.
  useEffect(() => {
    const changed = (event: Event): void => {
      const saved = (event as CustomEvent<Partial<Branding>>).detail;
      setState((current) =>
        current.kind === "ready"
          ? {
              ...current,
              branding: {
                ...current.branding,
                display_name: saved.display_name ?? NEUTRAL.display_name,
                primary_color: saved.primary_color ?? null,
                logo_url: saved.logo_url ?? null,
                support_email: saved.support_email ?? null,
              },
            }
          : current,
      );
      if (saved.display_name) document.title = saved.display_name;
    };
    window.addEventListener(BRANDING_CHANGED, changed);
    return () => window.removeEventListener(BRANDING_CHANGED, changed);
  }, []);

  const session = state.kind === "ready" ? state.session : null;
  useEffect(() => {
    if (!session) return;
    return scheduleRefresh(session, () => void refresh());
  }, [session, refresh]);

  const value = useMemo<SessionValue | null>(() => {
    if (state.kind !== "ready") return null;
    const claims = decodeClaims(state.session.idToken);
    const token = (): string | null => sessionRef.current?.idToken ?? null;
    return {
      config: state.config,
      branding: state.branding,
      session: state.session,
      claims,
      api: new Api({ base: state.config.api, token, onUnauthorized: refresh }),
      isAdmin: claims.roles.includes("admin"),
      isOperator: claims.roles.includes("operator"),
      token,
      signOut: async () => {
        const url = await signOutUrl(state.config.auth, sessionRef.current);
        sessionRef.current = null;
        window.location.assign(url);
      },
    };
  }, [state, refresh]);

  if (state.kind === "loading") {
    return (
      <main className="centered" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    );
  }
  if (state.kind === "signed-out") {
    const { config, branding, message, shared } = state;
    if (shared?.back) {
      return (
        <main className="centered">
          <h1>You are signed out</h1>
          <p>
            <a className="button primary" href={`${shared.back}/`}>
              Sign in to {new URL(shared.back).host} again
            </a>
          </p>
        </main>
      );
    }
    return (
      <main className="centered">
        {branding.logo_url && <img className="logo" src={branding.logo_url} alt="" />}
        <h1>{branding.display_name}</h1>
        {message ? <p role="alert">{message}</p> : <p>{shared ? SIGNED_OUT_SHARED : "You are signed out."}</p>}
        {config && (
          <button type="button" className="primary" onClick={() => void redirectToSignIn(config, "/")}>
            Sign in
          </button>
        )}
      </main>
    );
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
