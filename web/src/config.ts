/** The deployment's console settings, read once from `/console.json` (same origin). */

export interface AuthEndpoints {
  authorize: string;
  token: string;
  revoke: string;
  logout: string;
  client_id: string;
  scopes: string;
  /**
   * The one sign-in callback the authorization server knows for every tenant's console
   * (`https://<console domain>/callback`: Cognito takes no wildcard there). The console
   * at that address relays each answer to the tenant's own `/callback`. Absent: this
   * console's own `/callback`.
   */
  callback?: string;
  /** Likewise the one address people land on after signing out; absent: this console's `/signed-out`. */
  signed_out?: string;
}

export interface ConsoleConfig {
  /** API base URL, no trailing slash. */
  api: string;
  /** WebSocket API URL; the token goes in `?token=`. */
  websocket: string;
  auth: AuthEndpoints;
  /** True only under `tenantkit serve`. */
  local: boolean;
  deployment: string;
}

let loaded: Promise<ConsoleConfig> | null = null;

/** The console configuration (fetched once per page load). */
export function loadConfig(): Promise<ConsoleConfig> {
  loaded ??= fetch("/console.json", { headers: { Accept: "application/json" } }).then(
    async (response) => {
      if (!response.ok) throw new Error(`console.json: HTTP ${response.status}`);
      const config = (await response.json()) as ConsoleConfig;
      return { ...config, api: config.api.replace(/\/+$/, "") };
    },
  );
  return loaded;
}

/** The tenant named by the console's host (`acme.localhost:8000` → `acme`); null on a bare host. */
export function tenantFromHost(hostname: string): string | null {
  const labels = hostname.toLowerCase().split(".");
  if (labels.length < 2) return null;
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return null; // an IPv4 address
  return labels[0] || null;
}
