/** The audit log's pages (`GET /config/audit?limit&cursor`), newest first. */

export interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
  at: string;
  source_ip?: string | null;
  user_agent?: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  cursor: string | null;
}

/**
 * Where the pager is: the cursors of the pages before the current one (the first page
 * has none), so "Newer" goes back and "Older" follows the answer's cursor.
 */
export interface Pager {
  stack: (string | null)[];
  current: string | null;
}

export const FIRST_PAGE: Pager = { stack: [], current: null };

export function older(pager: Pager, next: string | null): Pager {
  if (next === null) return pager;
  return { stack: [...pager.stack, pager.current], current: next };
}

export function newer(pager: Pager): Pager {
  if (pager.stack.length === 0) return pager;
  return { stack: pager.stack.slice(0, -1), current: pager.stack[pager.stack.length - 1] ?? null };
}

export function auditPath(pager: Pager, limit: number): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (pager.current) query.set("cursor", pager.current);
  return `/config/audit?${query.toString()}`;
}

/** A short line for an entry's details (`kind: llm, fields: model, prefix`). */
export function describeDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${summarise(value)}`)
    .join("; ");
}

function summarise(value: unknown): string {
  if (Array.isArray(value)) return value.map(summarise).join(", ");
  if (value && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k} (${summarise(v)})`)
      .join(", ");
  }
  return String(value);
}
