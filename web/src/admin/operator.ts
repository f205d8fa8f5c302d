/** The operator console's data (`/operator/*`) and its pure rules. */

export interface Tenant {
  tenant_id: string;
  display_name: string | null;
  status: string;
  created_at: string;
}

export interface TenantList {
  tenants: Tenant[];
  cursor?: string | null;
}

/** One tenant's totals over a range, as the usage table shows them. */
export interface TenantUsage {
  tenant_id: string;
  requests: number;
  llm_tokens: number;
  storage_bytes: number;
}

const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?$/;

/** An error for a new tenant's id (lower-case letters, digits, dashes; 3–63), or null. */
export function checkTenantId(id: string): string | null {
  if (id.trim() === "") return "Enter the tenant's id.";
  if (!TENANT_ID.test(id.trim()) || id.trim().length < 3) {
    return "Use 3 to 63 lower-case letters, digits and dashes (not at either end).";
  }
  return null;
}

/** What the operator may do to a tenant in its status. */
export function tenantActions(tenant: Tenant): ("suspend" | "resume")[] {
  if (tenant.status === "active") return ["suspend"];
  if (tenant.status === "suspended") return ["resume"];
  return [];
}

function number(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * The per-tenant rows of `GET /operator/usage`: each tenant's report totals
 * (`{"tenants": [{"tenant_id", "totals": {...}, "storage_bytes"}]}`) or flat rows.
 */
export function usageRows(answer: unknown): TenantUsage[] {
  const list = (answer as { tenants?: unknown } | null)?.tenants;
  if (!Array.isArray(list)) return [];
  return list
    .filter((row): row is Record<string, unknown> => !!row && typeof row === "object")
    .map((row) => {
      const totals = (row.totals && typeof row.totals === "object" ? row.totals : row) as Record<string, unknown>;
      return {
        tenant_id: String(row.tenant_id ?? ""),
        requests: number(totals.requests),
        llm_tokens: number(totals.input_tokens) + number(totals.output_tokens),
        storage_bytes: number(row.storage_bytes ?? totals.storage_bytes),
      };
    })
    .sort((a, b) => b.requests - a.requests || a.tenant_id.localeCompare(b.tenant_id));
}
